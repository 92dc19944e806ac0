// Safetensors data is little-endian: views typed arrays over LE bytes and back, swapping only on a big-endian host.

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface TypedArrayClass<T> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  for (let start = 0; start < bytes.length; start += width) {
    for (let lo = start, hi = start + width - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo]!; // start <= lo < hi < length
      bytes[lo] = bytes[hi]!;
      bytes[hi] = t;
    }
  }
}

/**
 * Reinterprets little-endian bytes as native elements without copying (on a big-endian host the
 * bytes are swapped in place, so the caller must own them). `bytes.byteOffset` must be aligned.
 */
export function viewLittleEndian<T>(bytes: Uint8Array, Class: TypedArrayClass<T>): T {
  const width = Class.BYTES_PER_ELEMENT;
  if (!HOST_IS_LITTLE_ENDIAN && width > 1) swapBytesInPlace(bytes, width);
  return new Class(bytes.buffer, bytes.byteOffset, bytes.byteLength / width);
}

/** The little-endian bytes of a typed array: a view of it on little-endian hosts, a swapped copy otherwise. */
export function littleEndianBytes(array: ArrayBufferView & { readonly BYTES_PER_ELEMENT: number }): Uint8Array {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (HOST_IS_LITTLE_ENDIAN || array.BYTES_PER_ELEMENT === 1) return bytes;
  const copy = bytes.slice();
  swapBytesInPlace(copy, array.BYTES_PER_ELEMENT);
  return copy;
}
