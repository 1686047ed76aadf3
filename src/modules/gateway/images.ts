import type OpenAI from 'openai';

/** Images an upstream (or the local provider) made, as bytes. */
export interface MadeImages {
  images: Buffer[];
  model: string;
}

const DEFAULT_SIZE = { width: 1024, height: 1024 };
/** Images fetched from an upstream's links are at most this large. */
const MAX_FETCHED_BYTES = 50 * 1024 * 1024;

/** `WIDTHxHEIGHT` as numbers (1024×1024 when unset). */
export function sizeOf(size: string | undefined): { width: number; height: number } {
  if (!size) return DEFAULT_SIZE;
  const [width, height] = size.split('x').map(Number);
  return { width, height };
}

/** The media type of image bytes, by their signature; undefined when they are not an image we store. */
export function imageTypeOf(bytes: Buffer): string | undefined {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) {
    return 'image/png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    return 'image/webp';
  }
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) return 'image/gif';
  return undefined;
}

/** Width and height from a PNG's or GIF's header (other formats: unknown). */
export function imageSizeOf(bytes: Buffer, contentType: string): { width?: number; height?: number } {
  if (contentType === 'image/png' && bytes.length >= 24) {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (contentType === 'image/gif' && bytes.length >= 10) {
    return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  }
  return {};
}

/** The bytes of an OpenAI images answer: base64 as given, or fetched from its links within the time left. */
export async function imagesOf(
  response: OpenAI.ImagesResponse,
  model: string,
  timeoutMs: number | undefined,
): Promise<MadeImages> {
  const images = await Promise.all(
    (response.data ?? []).map(async (image) => {
      if (image.b64_json) return Buffer.from(image.b64_json, 'base64');
      if (image.url) return fetchImage(image.url, timeoutMs);
      throw new Error('The upstream answered an image without bytes or a link');
    }),
  );
  if (images.length === 0) throw new Error('The upstream answered no image');
  return { images, model };
}

async function fetchImage(url: string, timeoutMs: number | undefined): Promise<Buffer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs ?? 60_000) });
  if (!response.ok) throw new Error(`Fetching the upstream's image failed with ${response.status}`);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_FETCHED_BYTES) throw new Error('The upstream image is too large');
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_FETCHED_BYTES) throw new Error('The upstream image is too large');
  return bytes;
}
