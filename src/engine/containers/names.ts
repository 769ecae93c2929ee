/** Container names as Docker makes them when none is given: adjective_surname, re-drawn on a clash. */
import { randomInt } from 'node:crypto';
import { conflict, invalidParameter } from '../../util/index.js';

const LEFT = ['admiring', 'brave', 'busy', 'clever', 'dreamy', 'eager', 'elastic', 'festive', 'focused', 'gallant', 'happy', 'jolly', 'keen', 'loving', 'modest', 'nifty', 'objective', 'practical', 'quirky', 'relaxed', 'serene', 'stoic', 'tender', 'upbeat', 'vibrant', 'wizardly', 'youthful', 'zealous'];
const RIGHT = ['albattani', 'babbage', 'bohr', 'curie', 'darwin', 'einstein', 'euclid', 'fermi', 'galileo', 'hopper', 'hypatia', 'kepler', 'lamarr', 'lovelace', 'meitner', 'newton', 'noether', 'pasteur', 'ride', 'shannon', 'tesla', 'turing', 'wozniak', 'yalow'];

export function randomName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const base = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
    const name = i < 10 ? base : `${base}${randomInt(10)}`;
    if (!taken(name)) return name;
  }
}

export const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The name of a `docker rename`, without its '/', once it is valid and free (Docker's texts). */
export function checkNewName(newName: string, findByName: (name: string) => { id: string } | undefined): string {
  const name = newName.replace(/^\//, '');
  if (!CONTAINER_NAME.test(newName)) throw invalidParameter('container.name', `Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const other = findByName(name);
  if (other) throw conflict('container.name_in_use', `Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  return name;
}

/** Gives `rec` its new name, in its DNS names too; returns the old one. */
export function applyNewName(rec: { name: string; endpoints: Record<string, { dnsNames: string[] }> }, name: string): string {
  const oldName = rec.name;
  rec.name = name;
  for (const ep of Object.values(rec.endpoints)) {
    if (ep.dnsNames.length) ep.dnsNames = ep.dnsNames.map((n) => (n === oldName ? name : n));
  }
  return oldName;
}
