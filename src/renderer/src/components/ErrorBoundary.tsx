/** Catches a page's render error and shows it in place of the page, with a way back, instead of a blank window. */
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { ErrorNote } from './States';

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('page error', error, info.componentStack);
  }

  override render() {
    if (this.state.error)
      return (
        <ErrorNote
          error={`This page failed: ${this.state.error.message}`}
          onRetry={() => this.setState({ error: null })}
        />
      );
    return this.props.children;
  }
}
