/**
 * build/: `docker build` with the classic builder: Dockerfile parsing and checks, `.dockerignore`,
 * stages, RUN in engine containers, COPY/ADD from the context or other stages, the build cache.
 *
 * Use: the API's `POST /build` calls `runBuild`; other layers import only from this file.
 */
export { runBuild, type BuildDeps, type BuildOptions, type BuildOutput } from './builder.js';
export { parseDockerfile, type Dockerfile, type Instruction } from './dockerfile.js';
export { DockerIgnore } from './dockerignore.js';
