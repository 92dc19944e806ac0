/** How numbers, times and tokens are written across the UI. */

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
}

/** Up to `digits` significant decimals, without trailing noise; small and large values in exponent form. */
export function fmtNum(n: number | null | undefined, digits = 4): string {
  if (n === null || n === undefined) return '—';
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential(2);
  return Number(n.toFixed(digits)).toString();
}

export function fmtPct(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined ? '—' : `${(n * 100).toFixed(digits)}%`;
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** A token as it should read in running text: newlines and tabs shown as symbols, nothing else changed. */
export function tokenLabel(token: string): string {
  return token.replace(/\n/g, '↵').replace(/\t/g, '⇥');
}
