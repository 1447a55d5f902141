//! A moving synthetic test picture with its frame index drawn in as a barcode.
//!
//! The picture is made to be coded like camera content: a textured background that pans
//! diagonally (2 px right, 1 px down per frame), a textured box bouncing across it (5 px and 3 px
//! per frame), and a static band of 75% colour bars over a grey ramp at the bottom, so an encoder
//! sees global motion, an object moving against it and still areas, every frame.
//!
//! Along the top-left runs a barcode of the frame index: 56 big black or white cells (a guard
//! pattern, 32 index bits, a CRC-16 of them and a closing guard), which survives lossy coding and
//! lets a receiver tell which frame it got ([`read_frame_index`]) and rebuild it for PSNR
//! ([`PatternSource::frame`]). Pictures smaller than 64x64 have no barcode.

use super::{check_size, VideoFrame, VideoSource};
use crate::Error;

/// Cells in the barcode: 4 guard, 32 index bits, 16 CRC bits, 4 guard.
const CELLS: usize = 56;
const START_GUARD: [bool; 4] = [true, false, true, false];
const END_GUARD: [bool; 4] = [false, true, false, true];
const WHITE: u8 = 235;
const BLACK: u8 = 16;

/// Period of the background texture across (in pixels) and down.
const TEXTURE_PERIOD_X: usize = 96;
const TEXTURE_PERIOD_Y: usize = 80;
/// Period of the chroma texture, in chroma samples.
const CHROMA_PERIOD: usize = 64;

/// 75% colour bars in BT.601 limited range (Y, U, V): white, yellow, cyan, green, magenta,
/// red, blue.
const BARS: [(u8, u8, u8); 7] = [
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
];

/// Generates the test pattern, one frame per [`VideoSource::read`], counting from frame 0.
/// Never ends; frame `n` is always the same picture for the same size.
pub struct PatternSource {
    width: u32,
    height: u32,
    next: u32,
    /// One period of the background luma across and down; their sum is the texture.
    luma_x: Vec<u8>,
    luma_y: Vec<u8>,
    /// One period of the chroma offsets (added to 128, so signed).
    chroma: Vec<i8>,
}

impl std::fmt::Debug for PatternSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternSource")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl PatternSource {
    /// A pattern of `width` x `height` (even, at most [`super::MAX_DIMENSION`]).
    pub fn new(width: u32, height: u32) -> Result<Self, Error> {
        check_size(width, height)?;
        let wave = |n: usize, period: usize, phase: f64| {
            (std::f64::consts::TAU * n as f64 / period as f64 + phase).sin()
        };
        // Two harmonics each, so the texture is not a bare sine; each table spans 0..=109 and
        // the two together 16..=234 once 16 is added.
        let luma_x = (0..TEXTURE_PERIOD_X)
            .map(|n| {
                let v = 54.5
                    + 38.0 * wave(n, TEXTURE_PERIOD_X, 0.0)
                    + 16.0 * wave(3 * n, TEXTURE_PERIOD_X, 1.0);
                v.round() as u8
            })
            .collect();
        let luma_y = (0..TEXTURE_PERIOD_Y)
            .map(|n| {
                let v = 54.5
                    + 38.0 * wave(n, TEXTURE_PERIOD_Y, 2.0)
                    + 16.0 * wave(2 * n, TEXTURE_PERIOD_Y, 0.5);
                v.round() as u8
            })
            .collect();
        let chroma = (0..CHROMA_PERIOD)
            .map(|n| (40.0 * wave(n, CHROMA_PERIOD, 0.0)).round() as i8)
            .collect();
        Ok(PatternSource {
            width,
            height,
            next: 0,
            luma_x,
            luma_y,
            chroma,
        })
    }

    /// The index of the frame the next [`VideoSource::read`] gives.
    pub fn next_index(&self) -> u32 {
        self.next
    }

    /// The picture with frame index `index`: what [`VideoSource::read`] gave (or will give)
    /// as frame `index`, for a receiver to compare against.
    pub fn frame(&self, index: u32) -> VideoFrame {
        let mut data = vec![0u8; super::i420_len(self.width, self.height)];
        self.render(index, &mut data);
        // The size was checked in `new`.
        VideoFrame {
            width: self.width,
            height: self.height,
            data,
        }
    }

    fn render(&self, index: u32, data: &mut [u8]) {
        let (w, h) = (self.width as usize, self.height as usize);
        // Positions along each motion, reduced before use so no product can overflow.
        let t = u64::from(index);
        let pan_x = phase(t, 2, TEXTURE_PERIOD_X);
        let pan_y = phase(t, 1, TEXTURE_PERIOD_Y);
        let drift = phase(t, 1, CHROMA_PERIOD);
        let (y_plane, chroma) = data.split_at_mut(w * h);
        let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);

        // Background: luma pans right 2 px and down 1 px per frame; chroma drifts the other
        // way so the colour planes move too.
        let mut row_x = vec![0u8; w];
        for (x, p) in row_x.iter_mut().enumerate() {
            // Panning right: the picture at x shows what was at x - 2 the frame before.
            let n = (x + TEXTURE_PERIOD_X - pan_x) % TEXTURE_PERIOD_X;
            *p = self.luma_x[n];
        }
        for (y, row) in y_plane.chunks_exact_mut(w).enumerate() {
            let n = (y + TEXTURE_PERIOD_Y - pan_y) % TEXTURE_PERIOD_Y;
            let base = 16 + self.luma_y[n];
            for (p, &a) in row.iter_mut().zip(&row_x) {
                *p = base + a;
            }
        }
        let (cw, ch) = (w / 2, h / 2);
        let u_row: Vec<i8> = (0..cw)
            .map(|x| self.chroma[(x + drift) % CHROMA_PERIOD])
            .collect();
        for y in 0..ch {
            let v_off = self.chroma[(y + drift) % CHROMA_PERIOD];
            let (u, v) = (&mut u_plane[y * cw..][..cw], &mut v_plane[y * cw..][..cw]);
            for ((u, v), &u_off) in u.iter_mut().zip(v.iter_mut()).zip(&u_row) {
                *u = 128u8.wrapping_add_signed(u_off / 2 + v_off / 4);
                *v = 128u8.wrapping_add_signed(v_off / 2 - u_off / 4);
            }
        }

        // The static band at the bottom: a grey ramp, then colour bars. Even heights keep the
        // chroma rows aligned with the luma rows.
        let bars_h = (h / 6) & !1;
        let ramp_h = (h / 12) & !1;
        let bars_top = h - bars_h;
        let ramp_top = bars_top - ramp_h;
        for y in ramp_top..bars_top {
            for x in 0..w {
                y_plane[y * w + x] = (16 + x * 219 / (w - 1)) as u8;
            }
        }
        for y in ramp_top / 2..bars_top / 2 {
            u_plane[y * cw..][..cw].fill(128);
            v_plane[y * cw..][..cw].fill(128);
        }
        for y in bars_top..h {
            for x in 0..w {
                y_plane[y * w + x] = BARS[x * BARS.len() / w].0;
            }
        }
        for y in bars_top / 2..ch {
            for x in 0..cw {
                let bar = BARS[2 * x * BARS.len() / w];
                u_plane[y * cw + x] = bar.1;
                v_plane[y * cw + x] = bar.2;
            }
        }

        let layout = Barcode::layout(w, h);
        let top = layout.map_or(0, |b| b.height());

        // The bouncing box, between the barcode and the static band, with a checkerboard
        // inside so motion search has edges to lock on to.
        let room_h = ramp_top.saturating_sub(top);
        let side = ((w.min(room_h)) / 3) & !1;
        if side >= 4 {
            let bx = triangle(t, 5, w - side) & !1;
            let by = (top + triangle(t, 3, room_h - side)) & !1;
            let tile = (side / 4).max(2);
            for y in 0..side {
                let row = &mut y_plane[(by + y) * w + bx..][..side];
                for (x, p) in row.iter_mut().enumerate() {
                    *p = if (x / tile + y / tile) % 2 == 0 {
                        170
                    } else {
                        70
                    };
                }
            }
            for y in 0..side / 2 {
                let at = (by / 2 + y) * cw + bx / 2;
                u_plane[at..][..side / 2].fill(70);
                v_plane[at..][..side / 2].fill(190);
            }
        }

        if let Some(barcode) = layout {
            let bits = barcode_bits(index);
            for (i, &bit) in bits.iter().enumerate() {
                let (x0, y0) = barcode.origin(i);
                let s = barcode.cell;
                for y in y0..y0 + s {
                    y_plane[y * w + x0..][..s].fill(if bit { WHITE } else { BLACK });
                }
                for y in y0 / 2..(y0 + s) / 2 {
                    u_plane[y * cw + x0 / 2..][..s / 2].fill(128);
                    v_plane[y * cw + x0 / 2..][..s / 2].fill(128);
                }
            }
        }
    }
}

impl VideoSource for PatternSource {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn read(&mut self) -> Result<Option<VideoFrame>, Error> {
        let frame = self.frame(self.next);
        self.next = self.next.wrapping_add(1);
        Ok(Some(frame))
    }
}

/// `t * step` reduced modulo `period`.
fn phase(t: u64, step: u64, period: usize) -> usize {
    (t.wrapping_mul(step) % period as u64) as usize
}

/// Goes 0, 1, .. `range`, `range` - 1, .. 0 and round again as `t * step` counts up.
fn triangle(t: u64, step: u64, range: usize) -> usize {
    if range == 0 {
        return 0;
    }
    let m = phase(t, step, 2 * range);
    if m <= range {
        m
    } else {
        2 * range - m
    }
}

/// Where the barcode cells lie in a picture of a given size.
#[derive(Debug, Clone, Copy)]
struct Barcode {
    /// Side of a cell in pixels (a multiple of 4, so cells line up with codec blocks).
    cell: usize,
    /// Cells per row.
    cols: usize,
}

impl Barcode {
    /// The layout for `w` x `h`, or `None` if the picture is too small to carry one. Cells
    /// grow with the shorter side (4 px from 64, 8 from 120, 16 from 240, 32 from 960), but
    /// shrink where the barcode would not fit within the top quarter of the picture.
    fn layout(w: usize, h: usize) -> Option<Barcode> {
        let shorter = w.min(h);
        [(32, 960), (16, 240), (8, 120), (4, 64)]
            .into_iter()
            .filter(|&(_, lines)| shorter >= lines)
            .map(|(cell, _)| Barcode {
                cell,
                cols: (w / cell).min(CELLS),
            })
            .find(|b| b.cols >= 4 && b.height() <= h / 4)
    }

    fn rows(&self) -> usize {
        CELLS.div_ceil(self.cols)
    }

    fn height(&self) -> usize {
        self.rows() * self.cell
    }

    /// Top-left corner of cell `i`.
    fn origin(&self, i: usize) -> (usize, usize) {
        ((i % self.cols) * self.cell, (i / self.cols) * self.cell)
    }
}

/// The cells for frame `index`, white = `true`.
fn barcode_bits(index: u32) -> [bool; CELLS] {
    let mut bits = [false; CELLS];
    bits[..4].copy_from_slice(&START_GUARD);
    let crc = crc16(&index.to_be_bytes());
    for i in 0..32 {
        bits[4 + i] = (index >> (31 - i)) & 1 == 1;
    }
    for i in 0..16 {
        bits[36 + i] = (crc >> (15 - i)) & 1 == 1;
    }
    bits[52..].copy_from_slice(&END_GUARD);
    bits
}

/// CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF).
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Reads the frame index from the barcode of a [`PatternSource`] picture, also after lossy
/// coding. `None` when the picture carries no readable barcode: too small, guards missing,
/// too little contrast, a cell neither black nor white, or a CRC mismatch.
pub fn read_frame_index(frame: &VideoFrame) -> Option<u32> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let barcode = Barcode::layout(w, h)?;
    let (y_plane, _, _) = frame.planes();
    // The mean of the middle half of each cell: clear of the ringing and blur at the edges.
    let s = barcode.cell;
    let mut levels = [0u32; CELLS];
    for (i, level) in levels.iter_mut().enumerate() {
        let (x0, y0) = barcode.origin(i);
        let mut sum = 0u32;
        for y in y0 + s / 4..y0 + 3 * s / 4 {
            sum += y_plane[y * w + x0 + s / 4..][..s / 2]
                .iter()
                .map(|&p| u32::from(p))
                .sum::<u32>();
        }
        *level = sum / (s / 2 * s / 2) as u32;
    }

    let guards = START_GUARD
        .iter()
        .zip(&levels[..4])
        .chain(END_GUARD.iter().zip(&levels[52..]));
    let (mut white, mut black, mut whites, mut blacks) = (0, 0, 0, 0);
    for (&bit, &level) in guards.clone() {
        if bit {
            white += level;
            whites += 1;
        } else {
            black += level;
            blacks += 1;
        }
    }
    let (white, black) = (white / whites, black / blacks);
    // Full swing is 219; a barcode that kept under a third of it is not one.
    if white < black + 72 {
        return None;
    }
    let threshold = (white + black) / 2;
    // A cell must sit at least a quarter of the swing away from the threshold.
    let margin = (white - black) / 4;
    let mut bits = [false; CELLS];
    for (bit, &level) in bits.iter_mut().zip(&levels) {
        if level.abs_diff(threshold) < margin {
            return None;
        }
        *bit = level > threshold;
    }
    if bits[..4] != START_GUARD || bits[52..] != END_GUARD {
        return None;
    }
    let index = bits[4..36]
        .iter()
        .fold(0u32, |acc, &b| (acc << 1) | u32::from(b));
    let crc = bits[36..52]
        .iter()
        .fold(0u16, |acc, &b| (acc << 1) | u16::from(b));
    (crc == crc16(&index.to_be_bytes())).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        // The catalogue check value of CRC-16/CCITT-FALSE.
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn layouts_fit_and_grow_with_the_picture() {
        for (w, h, cell) in [
            (64, 64, 4),
            (176, 144, 8),
            (240, 240, 8),
            (320, 240, 16),
            (640, 480, 16),
            (1280, 720, 16),
            (1920, 1080, 32),
            (4096, 64, 4),
            (64, 4096, 4),
        ] {
            let b = Barcode::layout(w, h).expect("barcode fits");
            assert_eq!(b.cell, cell, "{w}x{h}");
            assert!(b.height() <= h / 4 && b.cols * b.cell <= w, "{w}x{h}");
        }
        assert!(Barcode::layout(62, 64).is_none());
        assert!(Barcode::layout(32, 32).is_none());
    }

    #[test]
    fn triangle_bounces() {
        let seq: Vec<usize> = (0..9).map(|n| triangle(n, 1, 3)).collect();
        assert_eq!(seq, [0, 1, 2, 3, 2, 1, 0, 1, 2]);
        let seq: Vec<usize> = (0..5).map(|n| triangle(n, 2, 3)).collect();
        assert_eq!(seq, [0, 2, 2, 0, 2]);
        assert_eq!(triangle(7, 5, 0), 0);
        assert!(triangle(u64::from(u32::MAX), 5, 100) <= 100);
    }
}
