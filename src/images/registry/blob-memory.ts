/**
 * What `docker push` remembers of the layer blobs it made: a layer's diff id → its gzip blob
 * (digest, size) and the repositories (`host/path`) known to hold it. A later push then checks the
 * target for that digest before compressing anything, and asks a registry to mount the blob from
 * another repository of its own (`?mount=&from=`) instead of uploading it again, as dockerd does
 * with its distribution metadata.
 *
 * Use: `const mem = await BlobMemory.open(join(store.root, 'push-blobs.json'))`; `mem.get(diffId)`;
 * `await mem.remember(diffId, { digest, size }, 'registry.test:5000/team/app')`.
 *
 * Beware: it is a hint, never trusted: the target registry is asked (HEAD, or mount answered 201)
 * before a remembered blob is used. Writes in one process are serialised and atomic.
 */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from '../atomic-file.js';

export interface BlobRecord {
  digest: string;
  size: number;
  /** `host/path` of repositories that hold it, newest last. */
  repos: string[];
}

const MAX_REPOS = 16;
const queues = new Map<string, Promise<unknown>>();

export class BlobMemory {
  private constructor(
    private readonly file: string,
    private records: Record<string, BlobRecord>,
  ) {}

  static async open(file: string): Promise<BlobMemory> {
    const text = await readFile(file, 'utf8').catch(() => '{}');
    let records: Record<string, BlobRecord> = {};
    try {
      records = JSON.parse(text) as Record<string, BlobRecord>;
    } catch {
      /* a damaged hint file is forgotten */
    }
    return new BlobMemory(file, records);
  }

  get(diffId: string): BlobRecord | undefined {
    return this.records[diffId];
  }

  /** A repository of the same registry (`host/…`) other than `repo` that holds the blob. */
  sourceFor(diffId: string, repo: string): string | undefined {
    const host = repo.slice(0, repo.indexOf('/'));
    return [...(this.get(diffId)?.repos ?? [])].reverse().find((r) => r !== repo && r.startsWith(`${host}/`));
  }

  /** Note that `repo` holds `blob` as the compressed form of layer `diffId`. */
  async remember(diffId: string, blob: { digest: string; size: number }, repo: string): Promise<void> {
    const old = this.records[diffId];
    const repos = old?.digest === blob.digest ? old.repos.filter((r) => r !== repo) : [];
    this.records[diffId] = { ...blob, repos: [...repos, repo].slice(-MAX_REPOS) };
    await this.save();
  }

  private async save(): Promise<void> {
    const prev = queues.get(this.file) ?? Promise.resolve();
    const next = prev.then(async () => {
      // Merge with what another push of this process wrote meanwhile.
      const disk = await BlobMemory.open(this.file);
      await writeAtomic(this.file, Buffer.from(JSON.stringify({ ...disk.records, ...this.records })));
    });
    queues.set(this.file, next.catch(() => undefined));
    await next;
  }
}
