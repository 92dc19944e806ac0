/** Placeholder home page shown while the studio's screens are being built. */
export function App() {
  // Present in the Electron window; absent in a browser tab served by `sae-studio serve`.
  const version = window.api?.version;
  return (
    <main className="placeholder">
      <h1>SAE Studio</h1>
      <p>Under construction.</p>
      <p>
        SAE Studio will train sparse dictionaries — SAEs, transcoders, crosscoders, cross-layer transcoders — on
        language-model activations, analyze the features they learn, trace circuits, and let you browse all of it
        offline, on your own machine.
      </p>
      {version && <p className="version">Version {version}</p>}
    </main>
  );
}
