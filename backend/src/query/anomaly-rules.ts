/**
 * What the anomaly detectors count as a failure (docs/query-model.md, "Anomaly detectors").
 * Failed connection: a Zeek-style state in which the conversation did not work out: no answer
 * (S0: for UDP and ICMP, no packet back), rejected (REJ), reset by either side (RSTO, RSTR, also
 * after data: a reset is how a connection ends abnormally), or the half-open and half-closed
 * attempts (RSTOS0, RSTRH, SH, SHR). A SYN scan leaves REJ (closed port), S0 (filtered) or RSTO
 * (open port: the scanner resets after the SYN-ACK).
 */
export const FAILED_STATES: readonly string[] = ['S0', 'REJ', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR'];

/** DNS answers that mean the lookup failed: the name does not exist, or the server failed. */
export const DNS_ERROR_RCODES: readonly string[] = ['NXDOMAIN', 'SERVFAIL'];
