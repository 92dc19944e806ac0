/** Renderer entry: Mantine's theme, the studio client of this window (IPC or HTTP), and the app. */
import '@mantine/core/styles.css';
import { Alert, Container, MantineProvider, createTheme, localStorageColorSchemeManager } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createWindowClient, StudioProvider } from './client/studio';
import './app.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

const theme = createTheme({
  primaryColor: 'orange',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  defaultRadius: 'md',
});
const colorSchemeManager = localStorageColorSchemeManager({ key: 'sae-studio-color-scheme' });
const client = createWindowClient();

createRoot(container).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="auto" colorSchemeManager={colorSchemeManager}>
      {'error' in client ? (
        <Container size="sm" py="xl">
          <Alert color="red" title="Not connected">
            {client.error}
          </Alert>
        </Container>
      ) : (
        <StudioProvider client={client}>
          <App />
        </StudioProvider>
      )}
    </MantineProvider>
  </StrictMode>,
);
