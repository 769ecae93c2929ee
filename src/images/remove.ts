/**
 * Docker's `docker rmi` decision, as a pure function: which tags to drop and whether the image goes.
 *
 * By name: the tag goes; the image goes too when that was its last tag and nothing prevents it
 * (conflicts are then silent: the image stays behind, untagged). By id: a single tag goes with the
 * image; several tags need force. A running container always blocks deletion, a stopped one unless
 * forced; a forced delete of an image a container still uses hides it instead (its layers stay).
 *
 * Beware: the messages are Docker's, word for word, because scripts match them.
 */
import { conflict } from '../util/index.js';
import { familiarTagged, idHex, parseNamed, shortImageId } from './reference.js';
import type { Image, ImageUser, RemoveOptions } from './types.js';

export interface RemovePlan {
  untag: string[];
  /** keep: leave the image; delete: drop it and unused layers; hide: drop it from view, keep layers. */
  del: 'keep' | 'delete' | 'hide';
}

interface Conflict {
  hard: boolean;
  used: boolean;
  message: string;
}

export function planRemove(img: Image, ref: string, opts: RemoveOptions): RemovePlan {
  const force = opts.force === true;
  const user = userOf(opts.inUse?.(img.id));
  const tags = [...img.repoTags];
  if (!isIdPrefix(img.id, ref)) {
    if (!force && tags.length === 1 && user) {
      throw conflict(
        'image.in_use',
        `conflict: unable to remove repository reference "${ref}" (must force) - container ${shortImageId(user.containerId)} is using its referenced image ${shortImageId(img.id)}`,
      );
    }
    const key = familiarTagged(parseNamed(ref));
    const remaining = tags.filter((t) => t !== key);
    if (remaining.length > 0) return { untag: [key], del: 'keep' };
    return { untag: [key], del: deleteAfter(img, [], force, user, true) };
  }
  let untag: string[] = [];
  if (tags.length === 1) {
    const c = findConflict(img, [], force, user);
    if (c) throw asError(img, c);
    untag = tags;
  }
  const remaining = tags.filter((t) => !untag.includes(t));
  const del = deleteAfter(img, remaining, force, user, false);
  return { untag: [...untag, ...remaining], del };
}

/** Docker's imageDeleteHelper: conflicts stop the delete (quietly after an untag by name). */
function deleteAfter(img: Image, tags: string[], force: boolean, user: ImageUser | undefined, quiet: boolean): RemovePlan['del'] {
  const c = findConflict(img, tags, force, user);
  if (c) {
    const dangling = tags.length === 0;
    if (quiet && (!dangling || c.used)) return 'keep';
    throw asError(img, c);
  }
  return user ? 'hide' : 'delete';
}

function findConflict(img: Image, tags: string[], force: boolean, user: ImageUser | undefined): Conflict | undefined {
  if (user?.running) return { hard: true, used: true, message: `image is being used by running container${idSuffix(user)}` };
  if (force) return undefined;
  if (tags.length > 0) return { hard: false, used: false, message: 'image is referenced in multiple repositories' };
  if (user) return { hard: false, used: true, message: `image is being used by stopped container${idSuffix(user)}` };
  return undefined;
}

function asError(img: Image, c: Conflict): Error {
  const how = c.hard ? 'cannot be forced' : 'must be forced';
  return conflict('image.in_use', `conflict: unable to delete ${shortImageId(img.id)} (${how}) - ${c.message}`);
}

function idSuffix(u: ImageUser): string {
  return u.containerId ? ` ${shortImageId(u.containerId)}` : '';
}

function userOf(v: ImageUser | boolean | undefined): ImageUser | undefined {
  if (v === true) return { containerId: '', running: false };
  return v || undefined;
}

/** Docker's isImageIDPrefix: `ref` is the id or a prefix of it, with or without `sha256:`. */
function isIdPrefix(id: string, ref: string): boolean {
  return id.startsWith(ref) || idHex(id).startsWith(ref);
}
