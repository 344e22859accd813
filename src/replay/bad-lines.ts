/**
 * Reports bad input lines as `file:line: reason`: the first `showFirst` in full, then only counted,
 * with one closing line for the rest (a binary or corrupt file must not flood the log).
 */
export class BadLineReport {
  private total = 0;

  constructor(
    private readonly showFirst: number,
    private readonly print: (line: string) => void,
  ) {}

  /** One bad line (or unreadable input) at `where` (`file:line`). */
  add(where: string, reason: string): void {
    this.total++;
    if (this.total <= this.showFirst) this.print(`${where}: ${reason}`);
    else if (this.total === this.showFirst + 1) this.print(`more bad lines follow; only their count is reported from here on`);
  }

  get count(): number {
    return this.total;
  }

  /** The closing line when some were not shown, else undefined. */
  closingLine(): string | undefined {
    const hidden = this.total - this.showFirst;
    return hidden > 0 ? `${hidden} more bad line${hidden === 1 ? "" : "s"} not shown (${this.total} in all)` : undefined;
  }
}
