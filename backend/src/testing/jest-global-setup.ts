import { createRunTmpdir } from './jest-tmpdir';

export default function globalSetup(): void {
  createRunTmpdir();
}
