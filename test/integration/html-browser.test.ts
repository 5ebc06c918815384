import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { withDir } from 'tmp-promise';
import type { Verdict } from '../../src/model/verdict.js';
import { findPlacements, renderHtml, type HtmlRun } from '../../src/report/html.js';
import { runLabel } from '../../src/report/matrix.js';
import { openInChromium } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';

// The four recorded cells of test/fixtures/runs: lean vs private-node, and the mbind-warn repro's base vs patched.
const runs: HtmlRun[] = [
  'lean-vs-private-node/built',
  'lean-vs-private-node/built-private-node',
  'repro-mbind-warn/base',
  'repro-mbind-warn/patched',
].map((file) => {
  const verdict = JSON.parse(fixture('runs', `${file}.report.json`)) as Verdict;
  return { cell: runLabel(verdict), verdict, runDir: file };
});

test.serial(
  'the HTML report of the recorded runs renders offline in Chromium: matrix, placement bars, topology, decoded crash',
  async (t) => {
    const started = Date.now();
    await withDir(
      async ({ path: dir }) => {
        const file = join(dir, 'report.html');
        writeFileSync(
          file,
          renderHtml({
            title: 'recorded runs',
            generatedAt: '2026-11-27T12:00:00Z',
            runs,
          }),
        );
        const { page, errors, requests, close } = await openInChromium(file);
        try {
          // The matrix as the browser shows it.
          const cells = await page.$$eval('[data-testid=matrix] td[data-check]', (tds) =>
            tds.map((td) => ({
              cell: td.dataset.cell!,
              check: td.dataset.check!,
              text: (td as HTMLElement).innerText.trim(),
              cls: td.className,
              bg: getComputedStyle(td).backgroundColor,
            })),
          );
          t.is(cells.length, 4 * 20);
          for (const { cell, verdict } of runs)
            for (const c of verdict.checks) {
              const shown = cells.find((x) => x.cell === cell && x.check === c.id);
              t.is(shown?.text, c.outcome, `${cell} ${c.id}`);
              t.is(shown?.cls, c.outcome);
            }
          const bg = (cell: string, check: string) => cells.find((x) => x.cell === cell && x.check === check)!.bg;
          t.is(cells.find((x) => x.cell === 'private-virtio/built' && x.check === 'abi')!.text, 'xfail');
          t.is(cells.find((x) => x.cell === 'private-virtio/built:private-node' && x.check === 'abi')!.text, 'pass');
          t.not(
            bg('private-virtio/built', 'abi'),
            bg('private-virtio/built:private-node', 'abi'),
            'outcomes are styled apart',
          );
          t.deepEqual(
            await page.$$eval('[data-testid=matrix] td[data-verdict]', (tds) =>
              tds.map((td) => (td as HTMLElement).innerText),
            ),
            ['FAILED', 'OK', 'OK', 'FAILED'],
          );

          // Every placement chart laid out, each bar as tall as its pages (a zero bar flat).
          const expectedCharts = runs.reduce(
            (n, r) => n + r.verdict.checks.reduce((m, c) => m + findPlacements(c.evidence).length, 0),
            0,
          );
          const bars = await page.$$eval('svg[data-testid=placement-chart] rect[data-pages]', (rects) =>
            rects.map((r) => {
              const box = r.getBoundingClientRect();
              return { pages: Number(r.getAttribute('data-pages')), width: box.width, height: box.height };
            }),
          );
          t.is(await page.$$eval('svg[data-testid=placement-chart]', (s) => s.length), expectedCharts);
          t.true(expectedCharts > 20);
          t.true(bars.some((b) => b.pages === 0));
          for (const b of bars.filter((b) => b.pages > 0)) t.true(b.width > 0 && b.height > 0, JSON.stringify(b));
          for (const b of bars.filter((b) => b.pages === 0)) t.is(b.height, 0);

          // The topology drawing is on screen, with its node boxes.
          const topo = await page.$('svg[data-testid=topology-svg]');
          t.truthy(topo && (await topo.isVisible()));
          const box = await topo!.boundingBox();
          t.true(box !== null && box.width > 200 && box.height > 50, JSON.stringify(box));
          t.regex(
            await topo!.evaluate((s) => s.textContent ?? ''),
            /node 1.*CPU-less.*1024 MiB.*backend not recorded.*device virtio-net/,
          );

          // The crash with its decoded stack.
          const crash = await page.$eval(
            '[data-testid=crash][data-cell="private-virtio/patched"]',
            (a) => (a as HTMLElement).innerText,
          );
          t.regex(crash, /warning: do_mbind < __x64_sys_mbind/);
          t.regex(crash, /__x64_sys_mbind \(mm\/mempolicy\.c:1616\)/);
          t.regex(crash, /do_syscall_64 \(arch\/x86\/entry\/common\.c:47/);

          // Stage timings drawn.
          const total = await page.$$eval('svg[data-testid=timing-chart] rect[data-stage=total]', (rects) =>
            rects.map((r) => r.getBoundingClientRect().width),
          );
          t.is(total.length, 4);
          t.true(total.every((w) => w > 0));

          t.deepEqual(errors, []);
          t.deepEqual(requests, [pathToFileURL(file).href], 'nothing but the file itself');
        } finally {
          await close();
        }
      },
      { unsafeCleanup: true },
    );
    t.log(`rendered and checked in Chromium in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
);

test.serial(
  'what failed is on the first screen at 1024 and 1400 px: the summary lists the failures, each row whole',
  async (t) => {
    await withDir(
      async ({ path: dir }) => {
        const file = join(dir, 'report.html');
        writeFileSync(file, renderHtml({ title: 'recorded runs', generatedAt: '2026-11-27T12:00:00Z', runs }));
        const { page, errors, close } = await openInChromium(file);
        try {
          for (const [width, height] of [
            [1024, 768],
            [1400, 900],
          ] as const) {
            await page.setViewport({ width, height });
            const rows = await page.$$eval('[data-testid=failures] tr[data-cell]', (trs) =>
              trs.map((tr) => {
                const b = tr.getBoundingClientRect();
                return { text: (tr as HTMLElement).innerText, top: b.top, bottom: b.bottom, right: b.right };
              }),
            );
            // The recorded cells: the lean kernel's virtio-rings xpass, the repro's warning and its failed step.
            t.is(rows.length, 3, `${width} px`);
            t.regex(rows.map((r) => r.text).join('\n'), /warning: do_mbind < __x64_sys_mbind/);
            for (const r of rows) {
              t.true(r.bottom <= height, `${width} px: a failure row ends at ${r.bottom} px, below the first screen`);
              t.true(r.right <= width, `${width} px: a failure row ends at ${r.right} px, right of the screen`);
            }
            const shot = join(dir, `summary-${width}.png`);
            await page.screenshot({ path: shot });
            t.log(
              `${width}x${height}: last failure row ends at ${Math.round(Math.max(...rows.map((r) => r.bottom)))} px`,
            );
          }
          t.deepEqual(errors, []);
        } finally {
          await close();
        }
      },
      { unsafeCleanup: true },
    );
  },
);

test.serial('an opened evidence stays on screen at 1024 px: its check row does not grow past the window', async (t) => {
  await withDir(
    async ({ path: dir }) => {
      const file = join(dir, 'report.html');
      writeFileSync(file, renderHtml({ title: 'recorded runs', generatedAt: '2026-11-27T12:00:00Z', runs }));
      const { page, errors, close } = await openInChromium(file);
      try {
        await page.setViewport({ width: 1024, height: 768 });
        // Every evidence of the checks tables, opened one at a time, scrolled to as a reader's click would.
        const count = await page.$$eval('tr[data-check] details', (ds) => ds.length);
        t.true(count > 20, `${count} evidences`);
        let widest = 0;
        for (let i = 0; i < count; i++) {
          const shown = await page.$$eval(
            'tr[data-check] details',
            (ds, k) => {
              const d = ds[k] as HTMLDetailsElement;
              d.open = true;
              d.scrollIntoView({ block: 'start', inline: 'nearest' });
              const pre = d.querySelector('pre')!.getBoundingClientRect();
              const width = document.documentElement.scrollWidth;
              d.open = false;
              return { left: pre.left, right: pre.right, width, check: d.closest('tr')!.dataset.check };
            },
            i,
          );
          widest = Math.max(widest, shown.width);
          t.true(shown.left >= 0 && shown.right <= 1024, `${shown.check}: evidence at ${shown.left}-${shown.right} px`);
          t.true(shown.width <= 1024, `${shown.check}: the page is ${shown.width} px wide with its evidence open`);
        }
        t.log(`${count} evidences opened; the page was at most ${widest} px wide`);
        t.deepEqual(errors, []);
      } finally {
        await close();
      }
    },
    { unsafeCleanup: true },
  );
});

test.serial('openInChromium reports a page that reaches for the network', async (t) => {
  await withDir(
    async ({ path: dir }) => {
      const file = join(dir, 'leaky.html');
      writeFileSync(
        file,
        '<!DOCTYPE html><html><head><title>x</title><link rel="icon" href="data:,"></head><body><img src="https://example.com/x.png"></body></html>',
      );
      const { errors, close } = await openInChromium(file);
      await close();
      t.true(
        errors.some((e) => e.startsWith('request for https://example.com/x.png')),
        errors.join('\n'),
      );
    },
    { unsafeCleanup: true },
  );
});
