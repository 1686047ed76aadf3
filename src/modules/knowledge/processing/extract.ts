import { parse as parseCsv } from 'csv-parse/sync';
import { convert, type DomNode, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';
import mammoth from 'mammoth';
import { extractText as extractPdfPages, getDocumentProxy } from 'unpdf';

export type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'docx' | 'csv' | 'json';

export interface ExtractedText {
  text: string;
  /** The title the document declares (HTML `<title>`, PDF metadata), if any. */
  title?: string;
}

/** A document that cannot be turned into text; the message is meant for the uploader. */
export class ExtractionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExtractionError';
  }
}

/** Default cap on extracted text: far beyond any real document, well short of exhausting memory. */
export const MAX_EXTRACTED_CHARS = 5_000_000;

const BY_EXTENSION: Record<string, DocumentFormat> = {
  txt: 'text',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
  htm: 'html',
  pdf: 'pdf',
  docx: 'docx',
  csv: 'csv',
  json: 'json',
};

const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const BY_MIME: Record<string, DocumentFormat> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/pdf': 'pdf',
  [DOCX_MIME]: 'docx',
  'text/csv': 'csv',
  'application/json': 'json',
};

const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');

/**
 * The format of an upload, or null when it is not supported. The content's signature wins over the
 * name and declared type, which clients often get wrong; a ZIP is a DOCX only if it holds a Word body.
 */
export function formatOf(filename: string, declaredType: string | undefined, bytes: Buffer): DocumentFormat | null {
  if (bytes.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) return 'pdf';
  const extension = /\.([^./\\]+)$/.exec(filename.toLowerCase())?.[1];
  const mime = declaredType?.split(';')[0].trim().toLowerCase();
  const named = (extension && BY_EXTENSION[extension]) || (mime && BY_MIME[mime]) || null;
  if (bytes.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC)) {
    // A ZIP named .docx without a Word body (or in ZIP64 form) still goes to the DOCX reader, which explains itself.
    return zipHasEntry(bytes, 'word/document.xml') || named === 'docx' ? 'docx' : null;
  }
  return named;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const CENTRAL_ENTRY_SIGNATURE = 0x02014b50;
const CENTRAL_ENTRY_SIZE = 46;

/** Looks a name up in the ZIP's central directory, without inflating anything. */
function zipHasEntry(bytes: Buffer, name: string): boolean {
  // The end-of-central-directory record closes the file, after a comment of at most 64 KiB.
  const floor = Math.max(0, bytes.length - EOCD_SIZE - 0xffff);
  for (let eocd = bytes.length - EOCD_SIZE; eocd >= floor; eocd--) {
    if (bytes.readUInt32LE(eocd) !== EOCD_SIGNATURE) continue;
    const entries = bytes.readUInt16LE(eocd + 10);
    let offset = bytes.readUInt32LE(eocd + 16);
    for (let i = 0; i < entries && offset + CENTRAL_ENTRY_SIZE <= bytes.length; i++) {
      if (bytes.readUInt32LE(offset) !== CENTRAL_ENTRY_SIGNATURE) return false;
      const nameLength = bytes.readUInt16LE(offset + 28);
      const start = offset + CENTRAL_ENTRY_SIZE;
      if (bytes.toString('utf8', start, start + nameLength) === name) return true;
      offset = start + nameLength + bytes.readUInt16LE(offset + 30) + bytes.readUInt16LE(offset + 32);
    }
    return false;
  }
  return false;
}

/**
 * The plain text of a document, with headings kept as markdown `#` lines so the chunker can see the
 * sections. Throws ExtractionError, with a message fit for the uploader, for anything unreadable,
 * empty or longer than maxChars.
 */
export async function extractText(
  bytes: Buffer,
  format: DocumentFormat,
  maxChars: number = MAX_EXTRACTED_CHARS,
): Promise<ExtractedText> {
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError('maxChars must be a positive integer');
  const extracted = await extractRaw(bytes, format, maxChars);
  const text = tidy(extracted.text);
  if (!text) {
    throw new ExtractionError(
      format === 'pdf'
        ? 'The PDF contains no extractable text (scanned pages would need OCR, which is not supported).'
        : 'The document contains no text.',
    );
  }
  if (text.length > maxChars) throw tooLong(maxChars);
  const title = extracted.title?.replace(/\s+/g, ' ').trim();
  return title ? { text, title } : { text };
}

async function extractRaw(bytes: Buffer, format: DocumentFormat, maxChars: number): Promise<ExtractedText> {
  switch (format) {
    case 'text':
    case 'markdown':
      return { text: decodeText(bytes) };
    case 'html':
      return htmlText(decodeText(bytes));
    case 'pdf':
      return pdfText(bytes);
    case 'docx':
      return docxText(bytes);
    case 'csv':
      return { text: csvText(decodeText(bytes), maxChars) };
    case 'json':
      return { text: jsonText(decodeText(bytes), maxChars) };
  }
}

function tooLong(maxChars: number): ExtractionError {
  return new ExtractionError(`The document's text is longer than ${maxChars.toLocaleString('en-US')} characters.`);
}

/** The first line of a library's error, short enough to show to a user. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.trim().split('\n')[0].trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line || 'unknown error';
}

/** Trailing spaces, stray control characters and runs of blank lines carry nothing. */
function tidy(text: string): string {
  return (
    text
      .replace(/\r\n?|[\v\f]/g, '\n')
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, '')
      .replace(/[^\S\n]+$/gm, '')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 (or UTF-16 announced by a byte-order mark, as Windows tools write); anything else is refused. */
function decodeText(bytes: Buffer): string {
  let text: string;
  try {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le', { fatal: true }).decode(bytes);
    else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be', { fatal: true }).decode(bytes);
    else text = UTF8.decode(bytes);
  } catch (err) {
    throw new ExtractionError('The file is not valid UTF-8 text; save it as UTF-8 and upload it again.', {
      cause: err,
    });
  }
  if (text.includes('\u0000')) throw new ExtractionError('The file contains binary data, not text.');
  return text;
}

const heading: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addLiteral(`${'#'.repeat(Number(elem.name?.slice(1)) || 1)} `);
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 2 });
};

/** One line per table row, cells separated by `|`, so a row stays together and readable. */
const tableRow: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 1 });
  elem.children
    .filter((cell) => cell.type === 'tag')
    .forEach((cell, i) => {
      if (i > 0) builder.addLiteral(' | ');
      // Word puts paragraphs inside cells; as blocks they would break the row over several lines.
      walk(cell.children.flatMap(unwrapParagraph), builder);
    });
  builder.closeBlock({ trailingLineBreaks: 1 });
};

const SPACE: DomNode = { type: 'text', data: ' ', children: [] };
const unwrapParagraph = (node: DomNode): DomNode[] =>
  node.type === 'tag' && node.name === 'p' ? [...node.children, SPACE] : [node];

const HTML_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  formatters: { heading, tableRow },
  // Silently cutting the input would index half a document; the output cap guards the size instead.
  limits: { maxInputLength: 0 },
  selectors: [
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, format: 'heading' })),
    ...['script', 'style', 'noscript', 'template', 'svg', 'img'].map((selector) => ({ selector, format: 'skip' })),
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'table', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
    { selector: 'tr', format: 'tableRow' },
  ],
};
const TITLE_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  limits: { maxInputLength: 0 },
  baseElements: { selectors: ['title'], returnDomByDefault: false },
};

function htmlText(html: string): ExtractedText {
  // Layout spacing (table padding, indentation) means nothing once the markup is gone.
  const text = convert(html, HTML_OPTIONS).replace(/[^\S\n]+/g, ' ');
  return { text, title: convert(html, TITLE_OPTIONS) };
}

async function pdfText(bytes: Buffer): Promise<ExtractedText> {
  let document: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    // PDF.js wants a plain Uint8Array of its own (it may detach it); verbosity 0 keeps its warnings out of the logs.
    document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    const { text: pages } = await extractPdfPages(document, { mergePages: false });
    const { info } = await document.getMetadata();
    const title = (info as { Title?: unknown }).Title;
    return {
      text: pages.map((page) => page.replace(/[^\S\n]+/g, ' ')).join('\n\n'),
      title: typeof title === 'string' ? title : undefined,
    };
  } catch (err) {
    if (err instanceof Error && err.name === 'PasswordException') {
      throw new ExtractionError('The PDF is password-protected.', { cause: err });
    }
    throw new ExtractionError(`The PDF could not be read: ${reason(err)}`, { cause: err });
  } finally {
    await document?.destroy();
  }
}

async function docxText(bytes: Buffer): Promise<ExtractedText> {
  let html: string;
  try {
    // Images are dropped: inlining them as data URIs would only be thrown away.
    const result = await mammoth.convertToHtml(
      { buffer: bytes },
      { convertImage: mammoth.images.imgElement(async () => ({ src: '' })) },
    );
    html = result.value;
  } catch (err) {
    throw new ExtractionError(`The Word document could not be read: ${reason(err)}`, { cause: err });
  }
  return { text: htmlText(html).text };
}

/** Collects lines, refusing as soon as they pass the cap rather than after building a huge string. */
class Lines {
  private readonly lines: string[] = [];
  private length = 0;

  constructor(private readonly maxChars: number) {}

  push(line: string): void {
    this.length += line.length + 1;
    if (this.length > this.maxChars + 1) throw tooLong(this.maxChars);
    this.lines.push(line);
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

const oneLine = (value: string): string => value.replace(/\s+/g, ' ').trim();

/** Each row as `header: value; header: value`, so every line stands on its own once chunked. */
function csvText(csv: string, maxChars: number): string {
  let rows: string[][];
  try {
    rows = parseCsv(csv, {
      delimiter: delimiterOf(csv),
      relax_column_count: true,
      skip_empty_lines: true,
    }) as string[][];
  } catch (err) {
    throw new ExtractionError(`The CSV could not be read: ${reason(err)}`, { cause: err });
  }
  const [header = [], ...records] = rows;
  const names = header.map(oneLine);
  const lines = new Lines(maxChars);
  for (const record of records) {
    const fields = record
      .map((value, i) => [names[i] || `column ${i + 1}`, oneLine(value)])
      .filter(([, value]) => value !== '')
      .map(([name, value]) => `${name}: ${value}`);
    if (fields.length > 0) lines.push(fields.join('; '));
  }
  return lines.toString();
}

/** Spreadsheets export with commas, semicolons (in comma-decimal locales) or tabs; the header line tells which. */
function delimiterOf(csv: string): string {
  const header = csv.slice(0, csv.search(/\r?\n|$/));
  const counts = [',', ';', '\t'].map((delimiter) => ({ delimiter, count: header.split(delimiter).length }));
  return counts.reduce((best, next) => (next.count > best.count ? next : best)).delimiter;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One `path: value` line per leaf (`order.items[0].sku: A-1`), so a line keeps its context wherever it lands. */
function jsonText(json: string, maxChars: number): string {
  let value: Json;
  try {
    value = JSON.parse(json) as Json;
  } catch (err) {
    throw new ExtractionError(`The JSON is invalid: ${reason(err)}`, { cause: err });
  }
  const lines = new Lines(maxChars);
  // An explicit stack, because uploads may nest deeper than the call stack allows.
  const stack: [string, Json][] = [['', value]];
  while (stack.length > 0) {
    const [path, node] = stack.pop()!;
    if (node !== null && typeof node === 'object') {
      const children: [string, Json][] = Array.isArray(node)
        ? node.map((child, i) => [`${path}[${i}]`, child])
        : Object.entries(node).map(([key, child]) => [path ? `${path}.${key}` : key, child]);
      // Pushed last-first so they pop in document order; one by one, as a spread of a huge array would overflow.
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    } else {
      const text = typeof node === 'string' ? oneLine(node) : String(node);
      lines.push(path ? `${path}: ${text}` : text);
    }
  }
  return lines.toString();
}
