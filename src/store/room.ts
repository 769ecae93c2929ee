/**
 * Room kept inside the SQLite files for a full disk: removals (rm, rmi, network rm...) must still
 * be recordable when the filesystem has no byte left, since freeing space is what a user does then.
 *
 * How (measured on a full 8 MiB tmpfs: without it every DELETE failed with SQLITE_FULL, with it 200
 * of 200 deletes and an insert went through): a throwaway blob of RESERVE_PAGES pages is written and
 * deleted, then checkpointed. Its pages stay allocated twice over: in the WAL file (which SQLite
 * reuses from its start after a checkpoint and never shrinks, journal_size_limit being -1) and on
 * the database file's freelist (which later inserts take before growing the file). On SQLITE_FULL
 * the caller checkpoints with RESTART, so the next write starts again at the WAL's first frame and
 * overwrites pages the filesystem already holds, and tries once more.
 *
 * Beware: the room shrinks as the database grows into its freelist; `topUp` refills it when below
 * half and is a no-op failure on a full disk (tried again at the next write). The WAL is deleted
 * when the last connection closes, so the room is made again at every open.
 */
import type Database from 'better-sqlite3';

/** 2 MiB with SQLite's default 4 KiB pages: hundreds of removals' worth of changed pages. */
export const RESERVE_PAGES = 512;

/** True for SQLite's "database or disk is full", the filesystem's ENOSPC and the store's own no-space error. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'system.no_space' || (typeof code === 'string' && code.startsWith('SQLITE_FULL'));
}

function freePages(db: Database.Database): number {
  return Number(db.pragma('freelist_count', { simple: true }));
}

/**
 * Refills the room when the freelist is below half of RESERVE_PAGES. Returns false when it could
 * not (a full disk); nothing is left half made then (the transaction rolls back).
 */
export function topUp(db: Database.Database): boolean {
  if (db.name === ':memory:' || freePages(db) >= RESERVE_PAGES / 2) return true;
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  try {
    db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS room (b BLOB)');
      db.prepare('INSERT INTO room VALUES (zeroblob(?))').run(RESERVE_PAGES * pageSize);
      db.exec('DELETE FROM room');
    })();
    db.pragma('wal_checkpoint(PASSIVE)');
    return true;
  } catch (e) {
    if (isDiskFull(e)) return false;
    throw e;
  }
}

/** After SQLITE_FULL: lets the next write start at the WAL's first (already allocated) frame. */
export function rewindWal(db: Database.Database): void {
  if (db.name === ':memory:') return;
  try {
    db.pragma('wal_checkpoint(RESTART)');
  } catch (e) {
    if (!isDiskFull(e)) throw e;
  }
}
