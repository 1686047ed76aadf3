import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** At most this many images per call. */
export const MAX_IMAGES = 10;
/** The largest image an edit takes. */
export const IMAGE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024;
const SIZE = '^[1-9][0-9]{1,3}x[1-9][0-9]{1,3}$';

const imageFields = {
  model: { type: 'string', minLength: 1, maxLength: 100 },
  prompt: { type: 'string', minLength: 1, maxLength: 32_000 },
  n: { type: 'integer', minimum: 1, maximum: MAX_IMAGES },
  size: { type: 'string', pattern: SIZE, description: 'WIDTHxHEIGHT, e.g. 1024x1024' },
  response_format: { type: 'string', enum: ['url', 'b64_json'] },
  user: { type: 'string', maxLength: 256 },
} as const;

export const IMAGE_GENERATION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: {
    ...imageFields,
    quality: { type: 'string', enum: ['auto', 'standard', 'hd', 'low', 'medium', 'high'] },
    style: { type: 'string', enum: ['vivid', 'natural'] },
    background: { type: 'string', enum: ['auto', 'transparent', 'opaque'] },
    output_format: { type: 'string', enum: ['png', 'jpeg', 'webp'] },
  },
} as const;

/** The text fields of an image edit (multipart/form-data: these, and the `image` file). */
export const IMAGE_EDIT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: imageFields,
} as const;

export interface ImageGenerationBody {
  model?: string;
  prompt: string;
  n?: number;
  size?: string;
  response_format?: 'url' | 'b64_json';
  user?: string;
  quality?: string;
  style?: string;
  background?: string;
  output_format?: string;
}

export type ImageEditFields = Omit<ImageGenerationBody, 'quality' | 'style' | 'background' | 'output_format'>;

/** The multipart form of an edit, for Swagger. */
export const IMAGE_EDIT_FORM = {
  type: 'object',
  required: ['image', 'prompt'],
  properties: {
    image: { type: 'string', format: 'binary', description: 'The image to edit (PNG, JPEG or WebP)' },
    ...imageFields,
    n: { ...imageFields.n, type: 'string', description: 'A number from 1 to 10' },
  },
} as const;

export class ImageDto {
  @ApiPropertyOptional({ description: 'A signed link to the stored image (response_format url)' }) url?: string;
  @ApiPropertyOptional({ description: 'The image, base64 (response_format b64_json)' }) b64_json?: string;
  @ApiPropertyOptional() revised_prompt?: string;
  @ApiProperty({ format: 'uuid', description: 'The stored media item' }) media_id: string;
}

export class ImagesResponseDto {
  @ApiProperty({ description: 'Unix seconds' }) created: number;
  @ApiProperty({ type: [ImageDto] }) data: ImageDto[];
}
