/**
 * `--security-opt` as Docker 28 parses it (moby daemon_unix.go parseSecurityOpt), with Docker's
 * errors: `no-new-privileges[=BOOL]`, `seccomp=unconfined|builtin|<profile JSON>` (the docker CLI
 * reads a `seccomp=FILE` and sends its contents), `apparmor=PROFILE|unconfined`, `label=disable`
 * (there is no SELinux here: nothing to label, so other label values are refused by name), and
 * `systempaths=unconfined` is a HostConfig field the CLI sets itself. A custom seccomp profile is
 * decoded here, so a bad one is refused at create.
 *
 * Use: `parseSecurityOptions(hostConfig.SecurityOpt)` → what buildOciSpec takes.
 */
import { invalidParameter } from '../util/index.js';
import { loadSeccompProfile } from './seccomp-profile.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** The default profile, none, or a profile in Docker's JSON format. */
  seccomp: 'default' | 'unconfined' | { json: string };
  /** `apparmor=NAME`; undefined: the daemon's default (when the kernel has AppArmor). */
  apparmor?: string;
}

const BOOL: Record<string, boolean> = { '1': true, t: true, T: true, TRUE: true, true: true, True: true, '0': false, f: false, F: false, FALSE: false, false: false, False: false };

export function parseSecurityOptions(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default' };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // label disable: no labels here anyway
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalidParameter('container.security_opt', `invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const at = opt.indexOf(sep);
    const [k, v] = [opt.slice(0, at), opt.slice(at + 1)];
    if (k === 'no-new-privileges') {
      const b = BOOL[v];
      if (b === undefined) throw invalidParameter('container.security_opt', `invalid --security-opt 2: ${JSON.stringify(opt)}`);
      out.noNewPrivileges = b;
    } else if (k === 'seccomp') {
      if (v === 'unconfined') out.seccomp = 'unconfined';
      else if (v === 'builtin' || v === '') out.seccomp = 'default';
      else {
        loadSeccompProfile(v, []);
        out.seccomp = { json: v };
      }
    } else if (k === 'apparmor') out.apparmor = v;
    else if (k === 'label' && v === 'disable') continue;
    else if (k === 'label' || k === 'writable-cgroups') {
      throw invalidParameter('container.security_opt', `invalid --security-opt: ${JSON.stringify(opt)} is not supported by this engine`);
    } else throw invalidParameter('container.security_opt', `invalid --security-opt 2: ${JSON.stringify(opt)}`);
  }
  return out;
}
