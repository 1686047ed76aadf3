/**
 * The clock port: what time it is. Everything that computes windows, expiries
 * or periods asks it, so tests can move time instead of sleeping.
 */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
