// The peer ships no types; just what the benchmark calls.
declare module 'moment-business-time' {
  interface WorkingMoment {
    addWorkingTime(amount: number, unit: 'minutes' | 'hours' | 'seconds'): WorkingMoment;
    workingDiff(other: WorkingMoment, unit: 'minutes' | 'hours' | 'seconds'): number;
    valueOf(): number;
  }
  interface MomentBusinessTime {
    (input?: number): WorkingMoment;
    updateLocale(locale: string, spec: { workinghours: Record<number, string[] | null>; holidays: string[] }): unknown;
  }
  const moment: MomentBusinessTime;
  export = moment;
}
