/** Human-readable numbers for tables: 1234567 → "1.23M". */
export function human(n: number, digits = 2): string {
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(digits) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(digits) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(digits) + 'K';
  return String(n);
}
