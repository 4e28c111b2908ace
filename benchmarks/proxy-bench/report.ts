/** The report stage (being written). */
export function writeReport(_o: { paths: Record<string, string>; recipe: string; resamples: number; log: (m: string) => void }): void {
  throw new Error('report: not written yet');
}
