import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { withDir } from 'tmp-promise';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { projectPath } from '../../src/adapters/project.js';

/*
 * The GitLab recipe run by a real GitLab CI engine: gitlab-ci-local executes the child pipeline
 * (examples/ci/numacage-nightly.gitlab-ci.yml) on this machine, each job in its own copy of the
 * project's tracked files (--shell-isolation), the two shards at once, artifacts and caches
 * passed between jobs as GitLab does. Two nights: the first started by hand with
 * NUMACAGE_ACCEPT_BASELINE=1 (there is no baseline yet), the second as a schedule, compared with
 * the first and promoted. The package registry is a small HTTP server here that keeps what is
 * PUT and answers a GET with the newest upload, as GitLab's generic packages do.
 * The matrix is small (two topologies x the lean kernel, smoke suite), and the numacage cache is a
 * hard-linked copy of the tests' own entries: no kernel or image is built here, and the shard's
 * `cache gc --max-size 3G` trims the copy, not the cache the other tests use. The node_modules cache
 * is seeded with the project's own node_modules, as a runner that ran any earlier pipeline has it:
 * two `npm ci` at once on the first night cost about 75 s of this test and 100 s of CPU. The path
 * without it (.ci/install's `npm ci`) is what every CI run takes on its fresh clone.
 */

const GCL = projectPath('node_modules/gitlab-ci-local/dist/index.js');
const CHILD = 'examples/ci/numacage-nightly.gitlab-ci.yml';
const BASELINE_PATH = '/api/v4/projects/7/packages/generic/numacage-baseline/nightly/merged.tar.gz';
const TOKEN = 'job-token-of-the-test';

interface Registry {
  url: string;
  requests: string[];
  uploads: Buffer[];
  close(): Promise<void>;
}

async function packageRegistry(): Promise<Registry> {
  const requests: string[] = [];
  const uploads: Buffer[] = [];
  const body = async (req: IncomingMessage) => {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    return Buffer.concat(parts);
  };
  const server = createServer((req, res) => {
    void (async () => {
      requests.push(`${req.method} ${req.url} token=${String(req.headers['job-token'])}`);
      if (req.url !== BASELINE_PATH || req.headers['job-token'] !== TOKEN) return res.writeHead(403).end();
      if (req.method === 'PUT') {
        uploads.push(await body(req));
        return res.writeHead(201).end('{"message":"201 Created"}');
      }
      const newest = uploads.at(-1);
      if (req.method === 'GET' && newest) return res.writeHead(200).end(newest);
      return res.writeHead(404).end('{"message":"404 Not Found"}');
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v4`,
    requests,
    uploads,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** gitlab-ci-local's directory for a job's cache `index` with a key {prefix, files: [package-lock.json]}. */
function cacheDirName(index: number, prefix: string) {
  const sha1 = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');
  return `${index}_${prefix}-${sha1(sha1(readFileSync(projectPath('package-lock.json'))))}`;
}

/** Hard links where src and dest share a file system (a copy of gigabytes in no time), else a copy. */
async function linkOrCopy(src: string, dest: string) {
  const linked = await execa('cp', ['-al', src, dest], { reject: false });
  if (linked.exitCode === 0) return;
  rmSync(dest, { recursive: true, force: true });
  await execa('cp', ['-a', src, dest]);
}

/** The project's tracked files (the working tree, as a commit would have them) in a git repo of their own. */
async function projectCopy(dir: string) {
  // Tracked and new (not ignored) files, as they are in the working tree.
  const listed = (
    await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: projectPath() })
  ).stdout;
  const files = listed
    .split('\0')
    .filter((f) => f && existsSync(projectPath(f)))
    .join('\0');
  await execa('rsync', ['-a', '--from0', '--files-from=-', `${projectPath()}/`, `${dir}/`], { input: files });
  const git = (...args: string[]) => execa('git', args, { cwd: dir });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-qm', 'numacage');
  await git('remote', 'add', 'origin', 'https://gitlab.example.com/kernel/numacage.git');
}

test.serial(
  'the GitLab recipe in gitlab-ci-local: two nights, shards at once, merge, compare; the first night accepted by hand, the second compared with it and promoted',
  async (t) => {
    const registry = await packageRegistry();
    t.teardown(() => registry.close());
    await withDir(
      async ({ path: dir }) => {
        await projectCopy(dir);
        const cache = join(dir, '.test-cache');
        mkdirSync(cache);
        for (const entry of ['images', 'kernels', 'probe', 'host'])
          if (existsSync(join(resolveCacheDir(), entry)))
            await linkOrCopy(join(resolveCacheDir(), entry), join(cache, entry));
        const modulesCache = join(dir, '.gitlab-ci-local', 'cache', cacheDirName(0, 'numacage-node-modules'));
        mkdirSync(modulesCache, { recursive: true });
        await linkOrCopy(projectPath('node_modules'), join(modulesCache, 'node_modules'));
        const night = async (source: 'web' | 'schedule', accept: boolean) => {
          const started = Date.now();
          const r = await execa(
            'node',
            [
              GCL,
              '--file',
              CHILD,
              '--force-shell-executor',
              '--shell-isolation',
              '--no-artifacts-to-source',
              '--no-color',
              '--timestamps',
              '--ignore-predefined-vars',
              'CI_API_V4_URL,CI_PROJECT_ID,CI_JOB_TOKEN,CI_PIPELINE_SOURCE',
              ...[
                `CI_PIPELINE_SOURCE=${source}`,
                `CI_API_V4_URL=${registry.url}`,
                'CI_PROJECT_ID=7',
                `CI_JOB_TOKEN=${TOKEN}`,
                `NUMACAGE_ACCEPT_BASELINE=${accept ? 1 : 0}`,
                'TOPOLOGIES=private-virtio,three-node',
                'KERNELS=built',
                'APPEND=loglevel=4',
                'EXPECT=vanilla',
                'SUITE=smoke',
                'ACCEL=auto', // this machine may have no KVM
                `NUMACAGE_CACHE=${cache}`,
              ].flatMap((v) => ['--variable', v]),
            ],
            { cwd: dir, reject: false, all: true, env: { ...process.env, CI: '' } },
          );
          const jobs = String(r.all)
            .split('\n')
            .filter((l) => /finished in/.test(l))
            .map((l) => l.replace(/^\S*\s*/, '').replace(/\s+/g, ' '));
          t.log(
            `${source} night: exit ${r.exitCode}, ${((Date.now() - started) / 1000).toFixed(1)} s; ${jobs.join('; ')}`,
          );
          return { ...r, all: String(r.all) };
        };
        const artifact = (job: string, ...path: string[]) => join(dir, '.gitlab-ci-local', 'artifacts', job, ...path);

        const first = await night('web', true);
        t.is(first.exitCode, 0, first.all);
        t.regex(
          first.all,
          /shard: \[1\/2\][^\n]*imported cache '0_numacage-node-modules-/,
          'the seeded cache is found',
        );
        t.notRegex(first.all, /added \d+ packages/, 'no npm ci with node_modules from the cache');
        t.true(existsSync(join(modulesCache, 'dist', '.tsbuildinfo')), "the first night's build saved in the cache");
        // The two shards ran at once: both started before either finished.
        const lines = first.all.split('\n');
        const startOf = (i: number) =>
          lines.findIndex((l) => l.includes(`shard: [${i}/2]`) && l.includes('starting shell'));
        const endOf = (i: number) => lines.findIndex((l) => l.includes(`shard: [${i}/2]`) && /finished in/.test(l));
        t.true(startOf(1) >= 0 && startOf(2) >= 0 && Math.max(startOf(1), startOf(2)) < Math.min(endOf(1), endOf(2)));
        // Each shard ran its one cell; merge joined them.
        const merged = JSON.parse(readFileSync(artifact('merge', 'merged', 'report.json'), 'utf8')) as {
          runs?: unknown[];
        };
        t.is(merged.runs?.length, 2, 'both cells in the merged report');
        t.regex(readFileSync(artifact('compare', 'compare.md'), 'utf8'), /No baseline[\s\S]*new baseline/);
        t.is(registry.uploads.length, 1, 'the accepted first night is uploaded as the baseline');

        const second = await night('schedule', false);
        t.is(second.exitCode, 0, second.all);
        t.regex(second.all, /compare[^\n]*This pipeline is the new baseline/);
        t.notRegex(second.all, /No baseline/);
        t.is(
          registry.uploads.length,
          2,
          'the second night, compared with the first and without regression, is the baseline',
        );
        t.deepEqual(
          registry.requests.map((r) => r.replace(/ .*token=/, ' token=')),
          [
            'GET token=job-token-of-the-test',
            'PUT token=job-token-of-the-test',
            'GET token=job-token-of-the-test',
            'PUT token=job-token-of-the-test',
          ],
        );
        // The second night's shards took node_modules and dist/ from the cache the first night saved.
        t.regex(second.all, /shard: \[1\/2\][^\n]*imported cache '0_numacage-node-modules-/);
        t.notRegex(second.all, /added \d+ packages/, 'no npm ci on the second night');
      },
      { unsafeCleanup: true },
    );
  },
);
