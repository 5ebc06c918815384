import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Page } from 'puppeteer-core';

/** Debian's chromium; CI installs it (apt-get install chromium). CHROMIUM overrides the path. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export interface OpenedPage {
  page: Page;
  /** Console errors, page errors, failed loads and any request for something other than the file itself. */
  errors: string[];
  /** Every URL the page asked for, the file's own first. */
  requests: string[];
  close: () => Promise<void>;
}

/**
 * Opens a local HTML file in headless Chromium with the network cut off: any
 * request other than the file itself is aborted and recorded in errors, so
 * a report that needs anything from outside shows up as an error.
 */
export async function openInChromium(htmlPath: string): Promise<OpenedPage> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM to its path`,
    );
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const url = pathToFileURL(htmlPath).href;
    const errors: string[] = [];
    const requests: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      requests.push(req.url());
      if (req.url() === url) return void req.continue();
      errors.push(`request for ${req.url()} (the report must be self-contained)`);
      void req.abort();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
    page.on('requestfailed', (req) => {
      if (req.url() === url) errors.push(`failed to load ${url}: ${req.failure()?.errorText}`);
    });
    await page.goto(url, { waitUntil: 'load' });
    return { page, errors, requests, close: () => browser.close() };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
