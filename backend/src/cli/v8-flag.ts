import * as v8 from 'node:v8';

/**
 * Sets a V8 flag when this Node's V8 has it (major version `since` or later): older V8 prints
 * "unrecognized flag" for flags it does not know.
 */
export function setV8FlagSince(since: number, flag: string): void {
  if (Number(process.versions.v8.split('.')[0]) >= since) v8.setFlagsFromString(flag);
}
