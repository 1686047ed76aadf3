// The part of gifenc (which ships no types) that the local video model uses.
declare module 'gifenc' {
  export interface GifFrameOptions {
    /** RGB colours; required on the first frame, where it becomes the global colour table. */
    palette?: number[][];
    /** Milliseconds this frame is shown. */
    delay?: number;
    /** 0 loops forever, -1 plays once. */
    repeat?: number;
  }

  export interface GifEncoder {
    /** Appends a frame of palette indices, one byte per pixel. */
    writeFrame(index: Uint8Array, width: number, height: number, options?: GifFrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
  }

  const gifenc: { GIFEncoder(): GifEncoder };
  export default gifenc;
}
