import { Clock } from '../../src/core/ports/clock.js';

/** A clock tests move by hand: windows, expiries and periods without sleeping. */
export class ManualClock extends Clock {
  private offsetMs = 0;

  constructor(private readonly start?: Date) {
    super();
  }

  now(): Date {
    return new Date((this.start?.getTime() ?? Date.now()) + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Moves to `at` (keeping time running from there). */
  set(at: Date): void {
    this.offsetMs = at.getTime() - (this.start?.getTime() ?? Date.now());
  }
}
