import { describe, expect, it } from '@jest/globals';
import { docxFixture, pdfFixture, zipFixture } from '../../../../test/helpers/kb-fixtures.js';
import { ExtractionError, extractText, formatOf } from './extract.js';

const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** The error extraction fails with, asserted to be an ExtractionError. */
async function failure(promise: Promise<unknown>): Promise<ExtractionError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExtractionError);
  return err as ExtractionError;
}

describe('formatOf', () => {
  it('trusts the content signature over the name and declared type', async () => {
    const pdf = pdfFixture([['Hello']]);
    expect(formatOf('notes.txt', 'text/plain', pdf)).toBe('pdf');
    const docx = await docxFixture([{ text: 'Hello' }]);
    expect(formatOf('upload.bin', 'application/octet-stream', docx)).toBe('docx');
    expect(formatOf('report.pdf', 'application/pdf', docx)).toBe('docx');
  });

  it('refuses a ZIP that is not a Word document unless it claims to be one', async () => {
    const zip = await zipFixture({ 'readme.txt': 'hi' });
    expect(formatOf('archive.zip', 'application/zip', zip)).toBeNull();
    expect(formatOf('notes.txt', 'text/plain', zip)).toBeNull();
    // Sent to the DOCX reader, which explains what is wrong with it.
    expect(formatOf('broken.docx', undefined, zip)).toBe('docx');
    expect(formatOf('broken', DOCX_MIME, zip)).toBe('docx');
  });

  it('goes by extension, case-insensitively, ahead of the declared type', () => {
    const text = utf8('plain words');
    expect(formatOf('a.txt', undefined, text)).toBe('text');
    expect(formatOf('README.MD', undefined, text)).toBe('markdown');
    expect(formatOf('notes.markdown', 'text/plain', text)).toBe('markdown');
    expect(formatOf('page.html', undefined, text)).toBe('html');
    expect(formatOf('page.HTM', undefined, text)).toBe('html');
    expect(formatOf('data.csv', 'text/plain', text)).toBe('csv');
    expect(formatOf('data.json', 'text/plain', text)).toBe('json');
    expect(formatOf('C:\\docs\\scan.pdf', undefined, text)).toBe('pdf');
    expect(formatOf('letter.docx', undefined, text)).toBe('docx');
  });

  it('falls back to the declared type, ignoring its parameters', () => {
    const text = utf8('plain words');
    expect(formatOf('README', 'text/plain; charset=utf-8', text)).toBe('text');
    expect(formatOf('notes', 'text/markdown', text)).toBe('markdown');
    expect(formatOf('page', 'TEXT/HTML', text)).toBe('html');
    expect(formatOf('export', 'text/csv', text)).toBe('csv');
    expect(formatOf('payload', 'application/json', text)).toBe('json');
    expect(formatOf('scan', 'application/pdf', text)).toBe('pdf');
    expect(formatOf('letter', DOCX_MIME, text)).toBe('docx');
  });

  it('returns null for what it cannot read', () => {
    expect(formatOf('photo.png', 'image/png', PNG)).toBeNull();
    expect(formatOf('photo', undefined, PNG)).toBeNull();
    expect(formatOf('sheet.xlsx', 'application/octet-stream', utf8('x'))).toBeNull();
  });
});

describe('extractText', () => {
  it('reads plain text as UTF-8, normalising line endings and blank runs', async () => {
    const result = await extractText(utf8('\ufeffCafé menu\r\n\r\n\r\n\r\nEspresso  \r\nLatte\n'), 'text');
    expect(result).toEqual({ text: 'Café menu\n\nEspresso\nLatte' });
  });

  it('reads UTF-16 with a byte-order mark', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Grüße aus Köln', 'utf16le')]);
    expect((await extractText(bytes, 'text')).text).toBe('Grüße aus Köln');
  });

  it('keeps markdown as written, headings included', async () => {
    const markdown = '# Setup\n\nInstall the CLI:\n\n    npm install -g atrium\n\n## Usage\n\nRun `atrium`.';
    expect(await extractText(utf8(markdown), 'markdown')).toEqual({ text: markdown });
  });

  it('turns HTML into text with markdown headings, dropping scripts and styles', async () => {
    const html = `<!doctype html><html><head><title>  Team &amp; Tools </title>
      <style>body { color: red }</style><script>window.secret = 'tracking';</script></head>
      <body><h1>Getting <em>started</em></h1><p>Read the <a href="https://example.com/guide">guide</a> first.</p>
      <script>alert('hidden')</script><h2>Roles</h2>
      <table><tr><th>Name</th><th>Role</th></tr><tr><td>Ada</td><td>Engineer</td></tr></table>
      <ul><li>Laptop</li><li>Badge</li></ul><img src="data:image/png;base64,AAAA" alt="logo"></body></html>`;
    const result = await extractText(utf8(html), 'html');
    expect(result.title).toBe('Team & Tools');
    expect(result.text).toBe(
      '# Getting started\n\nRead the guide first.\n\n## Roles\n\nName | Role\nAda | Engineer\n\n * Laptop\n * Badge',
    );
  });

  it('leaves the title out when the HTML has none', async () => {
    expect(await extractText(utf8('<p>Only a paragraph.</p>'), 'html')).toEqual({ text: 'Only a paragraph.' });
  });

  it('reads the text of a PDF, pages apart by a blank line, with its declared title', async () => {
    const pdf = pdfFixture(
      [
        ['Quarterly report', 'Revenue grew (by a lot) this year.'],
        ['Outlook', 'Next year looks steady.'],
      ],
      'Q3 Report',
    );
    expect(await extractText(pdf, 'pdf')).toEqual({
      text: 'Quarterly report\nRevenue grew (by a lot) this year.\n\nOutlook\nNext year looks steady.',
      title: 'Q3 Report',
    });
  });

  it('reads a DOCX with its headings as markdown headings', async () => {
    const docx = await docxFixture([
      { text: 'Onboarding guide', style: 'Heading1' },
      { text: 'Welcome to the team.' },
      { text: 'Your first week', style: 'Heading2' },
      { text: 'Meet your buddy & set up your laptop.' },
    ]);
    expect(await extractText(docx, 'docx')).toEqual({
      text: '# Onboarding guide\n\nWelcome to the team.\n\n## Your first week\n\nMeet your buddy & set up your laptop.',
    });
  });

  it('turns CSV rows into header: value lines', async () => {
    const csv = 'name,team,notes\r\nAda,Platform,"Leads the ""core"" work"\r\nGrace,,"Two\nlines"\r\n\r\n';
    expect((await extractText(utf8(csv), 'csv')).text).toBe(
      'name: Ada; team: Platform; notes: Leads the "core" work\nname: Grace; notes: Two lines',
    );
  });

  it('detects semicolon- and tab-separated CSV by the header', async () => {
    expect((await extractText(utf8('city;price\nLyon;3,50\n'), 'csv')).text).toBe('city: Lyon; price: 3,50');
    expect((await extractText(utf8('city\tprice\nOslo\t40\n'), 'csv')).text).toBe('city: Oslo; price: 40');
  });

  it('turns JSON into a path: value line per leaf', async () => {
    const json = JSON.stringify({
      product: 'Atrium',
      tags: ['backend', 'ai'],
      owner: { name: 'Ada Lovelace', active: true, manager: null },
      limits: { seats: 25, empty: {} },
    });
    expect((await extractText(utf8(json), 'json')).text).toBe(
      [
        'product: Atrium',
        'tags[0]: backend',
        'tags[1]: ai',
        'owner.name: Ada Lovelace',
        'owner.active: true',
        'owner.manager: null',
        'limits.seats: 25',
      ].join('\n'),
    );
    expect((await extractText(utf8('[{"id":1},{"id":2}]'), 'json')).text).toBe('[0].id: 1\n[1].id: 2');
    expect((await extractText(utf8('"just a string"'), 'json')).text).toBe('just a string');
  });

  it('explains a truncated or corrupt PDF', async () => {
    const pdf = pdfFixture([['Some text that will be cut off']]);
    const truncated = await failure(extractText(pdf.subarray(0, pdf.length / 2), 'pdf'));
    expect(truncated.message).toMatch(/^The PDF could not be read: .+/);
    expect(truncated.message).not.toMatch(/\n|at .+\(/);
    const garbage = await failure(extractText(Buffer.from('%PDF-1.7\nnot really a pdf'), 'pdf'));
    expect(garbage.message).toMatch(/^The PDF could not be read: /);
  });

  it('explains a PDF with no text', async () => {
    const err = await failure(extractText(pdfFixture([[]]), 'pdf'));
    expect(err.message).toMatch(/^The PDF contains no extractable text/);
  });

  it('explains a ZIP that is not a Word document, and a broken ZIP', async () => {
    const zip = await zipFixture({ 'readme.txt': 'hi' });
    const notWord = await failure(extractText(zip, 'docx'));
    expect(notWord.message).toMatch(/^The Word document could not be read: .*main document part/);
    const docx = await docxFixture([{ text: 'Hello' }]);
    const broken = await failure(extractText(docx.subarray(0, 100), 'docx'));
    expect(broken.message).toMatch(/^The Word document could not be read: .*zip/i);
  });

  it('explains invalid JSON', async () => {
    const err = await failure(extractText(utf8('{"name": "Ada",}'), 'json'));
    expect(err.message).toMatch(/^The JSON is invalid: .*JSON/);
  });

  it('explains a malformed CSV', async () => {
    const err = await failure(extractText(utf8('a,b\n"unterminated,1\n'), 'csv'));
    expect(err.message).toMatch(/^The CSV could not be read: .*quote/i);
  });

  it('refuses binary data and invalid UTF-8 as text', async () => {
    const binary = await failure(extractText(Buffer.from([0x48, 0x69, 0x00, 0x01, 0x02, 0x48]), 'text'));
    expect(binary.message).toBe('The file contains binary data, not text.');
    const latin1 = await failure(extractText(Buffer.from('caf\xe9', 'latin1'), 'markdown'));
    expect(latin1.message).toMatch(/^The file is not valid UTF-8 text/);
    const png = await failure(extractText(PNG, 'html'));
    expect(png.message).toMatch(/^The file (contains binary data|is not valid UTF-8)/);
  });

  it('refuses a document with no text', async () => {
    for (const [bytes, format] of [
      [utf8(' \n\t\n'), 'text'],
      [utf8('<html><head><script>x()</script></head><body></body></html>'), 'html'],
      [utf8('only,a,header\n'), 'csv'],
      [utf8('{}'), 'json'],
    ] as const) {
      expect((await failure(extractText(bytes, format))).message).toBe('The document contains no text.');
    }
  });

  it('refuses text longer than the cap, before building it in full for CSV and JSON', async () => {
    const text = 'word '.repeat(100);
    expect((await extractText(utf8(text), 'text', 500)).text).toHaveLength(499);
    expect((await failure(extractText(utf8(`${text}more`), 'text', 500))).message).toBe(
      "The document's text is longer than 500 characters.",
    );
    const rows = ['n', ...Array.from({ length: 1000 }, (_, i) => String(i))].join('\n');
    expect((await failure(extractText(utf8(rows), 'csv', 1000))).message).toMatch(/longer than 1,000 characters/);
    const array = JSON.stringify(Array.from({ length: 1000 }, (_, i) => i));
    expect((await failure(extractText(utf8(array), 'json', 1000))).message).toMatch(/longer than 1,000/);
    await expect(extractText(utf8('x'), 'text', 0)).rejects.toThrow(RangeError);
  });
});
