/**
 * Docker's image events (`docker events --filter type=image`): pull, push, tag, untag, delete,
 * import, load, save and prune, emitted around the image service as dockerd emits them.
 *
 * Use: `const images = withImageEvents(openedService, (action, id, attrs) => bus.emit('image', ...))`
 * and hand the result to the routes; everything not listed here passes straight through.
 * Beware: as in dockerd, tag/untag/delete/import/load/save name the image by id (`name` is the new
 * tag for `tag`, the id otherwise) while pull and push name it by reference; the image's labels are
 * added to the attributes when it is still there to read them. A failed operation emits nothing.
 */
import type { ImageService } from '../images/index.js';

export type ImageEventSink = (action: string, id: string, attributes: Record<string, string>) => void;

export function withImageEvents<T extends ImageService>(images: T, emit: ImageEventSink): T {
  const labelsOf = (ref: string): Record<string, string> => {
    try {
      return { ...(images.resolve(ref).config.Labels ?? {}) };
    } catch {
      return {};
    }
  };
  const say = (action: string, id: string, name: string, labelsFrom = id): void => emit(action, id, { ...labelsOf(labelsFrom), name });
  const idOf = (ref: string): string | undefined => {
    try {
      return images.resolve(ref).id;
    } catch {
      return undefined;
    }
  };
  // Every method not overridden is found on `images` through the prototype chain.
  const w = Object.create(images) as T;
  w.tag = async (source, repo, tag) => {
    const key = await images.tag(source, repo, tag);
    say('tag', images.resolve(key).id, key);
    return key;
  };
  w.remove = async (name, opts) => {
    const id = idOf(name);
    const labels = id ? labelsOf(id) : {};
    const records = await images.remove(name, opts);
    for (const r of records) {
      if ('Untagged' in r) emit('untag', id ?? r.Untagged, { ...labels, name: id ?? r.Untagged });
      else emit('delete', r.Deleted, { ...(r.Deleted === id ? labels : {}), name: r.Deleted });
    }
    return records;
  };
  w.prune = async (filters) => {
    const report = await images.prune(filters);
    for (const r of report.ImagesDeleted ?? []) {
      if ('Untagged' in r) emit('untag', r.Untagged, { name: r.Untagged });
      else emit('delete', r.Deleted, { name: r.Deleted });
    }
    emit('prune', '', { reclaimed: String(report.SpaceReclaimed) });
    return report;
  };
  w.importRootfs = async (tar, req) => {
    const img = await images.importRootfs(tar, req);
    say('import', img.id, img.id);
    return img;
  };
  w.load = async (tar) => {
    const loaded = await images.load(tar);
    for (const l of loaded) say('load', l.id, l.id);
    return loaded;
  };
  w.save = (names) => {
    const out = images.save(names);
    const ids = new Set(names.map(idOf).filter((x): x is string => x !== undefined));
    out.once('end', () => ids.forEach((id) => say('save', id, id)));
    return out;
  };
  w.pullRemote = async (fromImage, tag, creds) => {
    const p = await images.pullRemote(fromImage, tag, creds);
    if (!('run' in p)) {
      // Answered from the local store: one event per tag "pulled" (`pull -a` names the bare repository).
      const one = p.tags.length === 1 && p.ref.endsWith(`:${p.tags[0] ?? ''}`);
      const repo = one ? p.ref.slice(0, p.ref.length - (p.tags[0] ?? '').length - 1) : p.ref;
      for (const t of p.tags) say('pull', `${repo}:${t}`, `${repo}:${t}`, `${repo}:${t}`);
      return p;
    }
    return {
      ref: p.ref,
      run: async (progress) => {
        const r = await p.run(progress);
        say('pull', p.ref, p.ref, r.id);
        return r;
      },
    };
  };
  w.push = async (name, tag, creds, progress) => {
    await images.push(name, tag, creds, progress);
    const ref = tag ? `${name}:${tag}` : name;
    say('push', ref, ref, ref);
  };
  return w;
}
