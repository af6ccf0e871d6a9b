import { removeRunTmpdir } from './jest-tmpdir';

export default function globalTeardown(): void {
  removeRunTmpdir();
}
