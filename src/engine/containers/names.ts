/** Container names as Docker makes them when none is given: adjective_surname, re-drawn on a clash. */
import { randomInt } from 'node:crypto';

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
