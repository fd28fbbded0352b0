/**
 * Progress for long work. Library calls only report through a {@link ProgressCallback} (`onProgress` option);
 * the CLI draws: a redrawn bar on a terminal, plain lines otherwise (CI logs, pipes), and nothing at all when
 * quiet (e.g. `--json` on stdout).
 */

/** How a long call reports progress: `done` of `total` steps, with optional fields (loss=…) to show beside. */
export type ProgressCallback = (done: number, total: number, fields?: Record<string, number | string>) => void;

export interface ProgressOptions {
  /** What is running, printed before the bar. */
  label: string;
  /** Total number of steps. */
  total: number;
  /** Where to draw; stderr keeps stdout clean for results. */
  stream?: NodeJS.WriteStream;
  /** Force plain lines (true) or a bar (false); default: bar on a TTY. */
  plain?: boolean;
  /** Draw nothing. */
  quiet?: boolean;
  /** Plain mode: print a line every this many percent (default 10). */
  everyPercent?: number;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly plain: boolean;
  private readonly started = Date.now();
  private lastPlainPercent = -1;
  private lastDraw = 0;
  private done = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.plain = options.plain ?? !this.stream.isTTY;
  }

  /** Reports that `current` of `total` steps are done, with optional fields (loss=…) shown beside. */
  update(current: number, fields: Record<string, number | string> = {}): void {
    if (this.options.quiet || this.done) return;
    const total = Math.max(1, this.options.total);
    const fraction = Math.min(1, current / total);
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`)
      .join(' ');
    const elapsed = (Date.now() - this.started) / 1000;
    if (this.plain) {
      const every = this.options.everyPercent ?? 10;
      const percent = Math.floor((fraction * 100) / every) * every;
      if (percent === this.lastPlainPercent && current < total) return;
      this.lastPlainPercent = percent;
      this.stream.write(`${this.options.label}: ${current}/${total} (${Math.round(fraction * 100)}%) ${elapsed.toFixed(1)}s ${extra}\n`);
      return;
    }
    const now = Date.now();
    if (now - this.lastDraw < 80 && current < total) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round(fraction * width);
    const eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    this.stream.write(
      `\r${this.options.label} ${bar} ${current}/${total} ${elapsed.toFixed(1)}s eta ${eta.toFixed(1)}s ${extra}\x1b[K`,
    );
  }

  /** Ends the bar (newline on a TTY). */
  finish(message?: string): void {
    if (this.options.quiet || this.done) return;
    this.done = true;
    if (!this.plain) this.stream.write('\n');
    if (message) this.stream.write(message + '\n');
  }
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

/** A bar that starts on the first report (when the total is known); `finish()` ends it. */
export function progressBar(label: string, options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): { onProgress: ProgressCallback; finish(): void } {
  let bar: Progress | undefined;
  return {
    onProgress: (done, total, fields) => {
      bar ??= new Progress({ label, total, quiet: options.quiet, stream: options.stream });
      bar.update(done, fields);
    },
    finish: () => bar?.finish(),
  };
}

/** Plain log lines on stderr, silenced by `quiet`. */
export function logger(quiet = false): (message: string) => void {
  return (message: string) => {
    if (!quiet) process.stderr.write(message + '\n');
  };
}
