/**
 * `egress-verify proxy` (runProxy, with its SIGINT/SIGTERM handlers) in its
 * own process, the test pipeline injected: argv = evidence dir, key file,
 * upstream port. Prints {"port":N} once listening; exits with runProxy's code.
 */
import { runProxy } from '../../../src/cli/proxy-command.js';
import { testDecider } from '../support.js';

const [dir, key, upstreamPort] = process.argv.slice(2);
const code = await runProxy(
  { key: key!, evidenceDir: dir!, listen: '127.0.0.1:0' },
  [],
  { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s), color: false },
  {
    createDecider: async () => ({ decider: testDecider({ httpDial: () => `127.0.0.1:${upstreamPort}` }) }),
    handleSignals: true,
    onListening: ({ port }) => void process.stdout.write(JSON.stringify({ port }) + '\n'),
  },
);
process.exitCode = code;
