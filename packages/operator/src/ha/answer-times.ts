/**
 * How long the HA loop waits on an instance's probe before the round counts it silent.
 *
 * The probe's `timeoutSeconds` is what a loaded node needs: there a healthy instance answers in
 * seconds. An instance that has answered every recent probe within a small fraction of that, on a
 * node that is not loaded, is given less: a freeze or a cut is then noticed in a fraction of the
 * time, while the first slow answer gives back the whole timeout to the probes after it.
 */

/** How many recent answers an instance must have given, each in time, before it is given less. */
export const RECENT_ANSWERS = 30;
/** How many times its slowest recent answer an instance is allowed. */
const SLACK = 8;

/** Adds one answer's time (from the probe's start to its answer) to an instance's recent ones. */
export function recordAnswer(recent: number[], ms: number): void {
  recent.push(ms);
  if (recent.length > RECENT_ANSWERS) recent.splice(0, recent.length - RECENT_ANSWERS);
}

/**
 * The wait for an instance's probe: the probe's timeout until it has answered RECENT_ANSWERS times,
 * then SLACK times its slowest recent answer, at least one probe period and at most the timeout.
 */
export function silenceAllowance(recent: readonly number[], timeoutMs: number, periodMs: number): number {
  if (recent.length < RECENT_ANSWERS) return timeoutMs;
  const allowed = SLACK * Math.max(...recent);
  return Math.min(timeoutMs, Math.max(periodMs, Math.ceil(allowed)));
}
