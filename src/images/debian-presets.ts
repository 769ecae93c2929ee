/**
 * What makes a Debian server package behave like the Docker Hub image of the same name: its default
 * command (in the foreground, as PID 1), exposed port, stop signal, and a small layer of files on top
 * of Debian's rootfs (logs to the container's stdout/stderr, the document root where the Hub image
 * has it). `redes image debian` picks the preset of the first server package named in --include.
 *
 * Use: `presetFor(['nginx-light'])` → the nginx preset, or undefined (then the image runs bash).
 *
 * Beware: the layers are built in memory (a few files); they add, never change, Debian's files, so
 * Debian's configuration stays what `apt-get install` leaves. nginx's Debian site serves /var/www/html,
 * the Hub image /usr/share/nginx/html: the preset makes the former a link to the latter, so a volume
 * mounted where the Hub's documentation says (`-v ...:/usr/share/nginx/html`) is what nginx serves.
 * The same for Apache and /usr/local/apache2/htdocs (a link to /var/www/html).
 */
import type { TarEntry } from './tar-write.js';
import type { ImageConfig } from './types.js';

export interface DebianPreset {
  /** The preset's name, for messages and the image's history. */
  name: string;
  /** Packages that select the preset. */
  packages: readonly string[];
  config: Pick<ImageConfig, 'Cmd' | 'ExposedPorts' | 'StopSignal' | 'Entrypoint' | 'WorkingDir'>;
  /** The extra layer's files. */
  files: TarEntry[];
  /** The history line of that layer. */
  createdBy: string;
}

const HTTPD_FOREGROUND = `#!/bin/sh
# Apache in the foreground as the container's main process (as the Docker Hub httpd image does).
set -e
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
rm -f "$APACHE_PID_FILE"
exec apache2 -DFOREGROUND "$@"
`;

const dir = (name: string): TarEntry => ({ name, type: 'directory', mode: 0o755 });
const link = (name: string, target: string): TarEntry => ({ name, type: 'symlink', linkname: target });

export const PRESETS: readonly DebianPreset[] = [
  {
    name: 'nginx',
    packages: ['nginx-light', 'nginx', 'nginx-core', 'nginx-full', 'nginx-extras'],
    config: { Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { '80/tcp': {} }, StopSignal: 'SIGQUIT' },
    files: [
      dir('var/'),
      dir('var/log/'),
      { name: 'var/log/nginx/', type: 'directory', mode: 0o755, gid: 4 }, // root:adm, as Debian has it
      link('var/log/nginx/access.log', '/dev/stdout'),
      link('var/log/nginx/error.log', '/dev/stderr'),
      dir('var/www/'),
      link('var/www/html', '/usr/share/nginx/html'),
    ],
    createdBy: 'redes: nginx in the foreground, logs to stdout/stderr, /var/www/html -> /usr/share/nginx/html',
  },
  {
    name: 'httpd',
    packages: ['apache2'],
    config: { Cmd: ['httpd-foreground'], ExposedPorts: { '80/tcp': {} }, StopSignal: 'SIGWINCH' },
    files: [
      dir('usr/'),
      dir('usr/local/'),
      dir('usr/local/bin/'),
      { name: 'usr/local/bin/httpd-foreground', content: HTTPD_FOREGROUND, mode: 0o755 },
      dir('usr/local/apache2/'),
      link('usr/local/apache2/htdocs', '/var/www/html'),
      dir('etc/'),
      dir('etc/apache2/'),
      dir('etc/apache2/conf-enabled/'),
      { name: 'etc/apache2/conf-enabled/redes-servername.conf', content: 'ServerName localhost\n', mode: 0o644 },
      dir('var/'),
      dir('var/log/'),
      { name: 'var/log/apache2/', type: 'directory', mode: 0o750, gid: 4 },
      link('var/log/apache2/access.log', '/dev/stdout'),
      link('var/log/apache2/error.log', '/dev/stderr'),
      link('var/log/apache2/other_vhosts_access.log', '/dev/stdout'),
    ],
    createdBy: 'redes: httpd-foreground (apache2 -DFOREGROUND), logs to stdout/stderr, /usr/local/apache2/htdocs -> /var/www/html',
  },
];

/** The preset of the first package that has one, in --include order. */
export function presetFor(packages: readonly string[]): DebianPreset | undefined {
  for (const p of packages) {
    const hit = PRESETS.find((s) => s.packages.includes(p));
    if (hit) return hit;
  }
  return undefined;
}
