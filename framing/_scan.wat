;; Finds every occurrence of one byte in a block of memory, 16 bytes at a
;; time with WebAssembly SIMD. Private to framing/: _scan.ts loads the
;; compiled module (regenerate it with `deno task build:wasm`).
;;
;; Memory layout (2 MiB of 64 KiB pages, fixed):
;;   [0, 65536)        the block to scan, copied in by the caller
;;   [65536, 327680)   positions found, one i32 each (at most one per byte)
(module
  (memory (export "memory") 5 5)

  ;; scan(length, byte) -> count: writes the offsets in [0, length) where
  ;; memory holds `byte`, in increasing order, as i32s from address 65536;
  ;; returns how many there are. `length` is at most 65536.
  (func (export "scan") (param $length i32) (param $byte i32) (result i32)
    (local $i i32)
    (local $count i32)
    (local $mask i32)
    (local $needle v128)
    (local $end i32)
    (local.set $needle (i8x16.splat (local.get $byte)))
    (local.set $end (i32.and (local.get $length) (i32.const -16)))
    ;; 16 bytes at a time: a bit per matching byte, then one entry per bit.
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $mask
          (i8x16.bitmask
            (i8x16.eq (v128.load (local.get $i)) (local.get $needle))))
        (block $bits_done
          (loop $bits
            (br_if $bits_done (i32.eqz (local.get $mask)))
            (i32.store
              (i32.add (i32.const 65536) (i32.shl (local.get $count) (i32.const 2)))
              (i32.add (local.get $i) (i32.ctz (local.get $mask))))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (local.set $mask
              (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
            (br $bits)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vectors)))
    ;; The last length % 16 bytes, one at a time.
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $length)))
        (if (i32.eq (i32.load8_u (local.get $i)) (local.get $byte))
          (then
            (i32.store
              (i32.add (i32.const 65536) (i32.shl (local.get $count) (i32.const 2)))
              (local.get $i))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $count)))
