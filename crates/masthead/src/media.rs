//! Media: accepting images, making responsive variants and storing files.
//!
//! Uploads are sniffed (never trusted by extension), decoded with size and
//! memory limits on blocking threads, a few at a time; EXIF orientation is
//! applied and then every byte of metadata is dropped by re-encoding,
//! except the colour profile, which is carried over so colours stay as the
//! photographer meant them (an image without one is sRGB by definition).

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use masthead_core::content::MediaVariant;
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The widths of responsive variants, narrowest first.
pub const VARIANT_WIDTHS: &[u32] = &[480, 960, 1600];
/// The largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;
const MAX_DIMENSION: u32 = 12_000;
/// Decoded pixels (width × height) at most: a 50-megapixel camera frame.
pub const MAX_PIXELS: u64 = 50_000_000;
/// The most memory one upload may take while it is processed: the decoded
/// image, its 8-bit conversion and the re-encoded original, estimated from
/// the header before anything is decoded. Images that would need more are
/// refused, so no upload peaks above this.
pub const MAX_UPLOAD_MEMORY: u64 = 256 * 1024 * 1024;
/// Memory all uploads being processed at once may take together.
pub const MEMORY_BUDGET: u64 = 2 * MAX_UPLOAD_MEMORY;
const MAX_DECODE_ALLOC: u64 = 200 * 1024 * 1024;
/// Headroom for the variants, the encoders and the upload's own bytes.
const SLACK: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("the file is larger than {} MB", MAX_UPLOAD_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("SVG images are not accepted (they can carry script); upload a PNG or JPEG instead")]
    Svg,
    #[error("HEIC/HEIF images are not accepted; export the photo as JPEG first")]
    Heic,
    #[error("not a supported image; upload JPEG, PNG, WebP or GIF")]
    Unsupported,
    #[error("the image could not be decoded: {0}")]
    Decode(String),
    #[error("the image is too large: at most {MAX_DIMENSION} pixels on a side and {} megapixels, and no more than {} MB to decode; export a smaller version", MAX_PIXELS / 1_000_000, MAX_UPLOAD_MEMORY / 1024 / 1024)]
    Limits,
    #[error("storing the image failed: {0}")]
    Storage(String),
}

/// Identifies an image format from its first bytes.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, MediaError> {
    let head = &bytes[..bytes.len().min(64)];
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageFormat::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(ImageFormat::Png);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Ok(ImageFormat::Gif);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(ImageFormat::WebP);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        if [
            b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heim", b"heis", b"avif",
        ]
        .iter()
        .any(|b| brand == *b)
        {
            return Err(MediaError::Heic);
        }
    }
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("<svg")
        || (text.starts_with("<?xml") && bytes.windows(4).any(|w| w == b"<svg"))
    {
        return Err(MediaError::Svg);
    }
    Err(MediaError::Unsupported)
}

/// A processed image ready to store: the cleaned original and its variants.
pub struct Processed {
    pub hash: String,
    pub mime: &'static str,
    pub ext: &'static str,
    pub width: u32,
    pub height: u32,
    pub original: Vec<u8>,
    pub variants: Vec<(MediaVariant, Vec<u8>)>,
}

/// A decoder for `bytes` whose header passed every limit: dimensions,
/// pixels and the memory processing will take (`memory_needed`).
fn checked_decoder(bytes: &[u8]) -> Result<impl ImageDecoder + '_, MediaError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(MediaError::TooLarge);
    }
    let format = sniff(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(decode_error)?;
    if memory_needed(&decoder)? > MAX_UPLOAD_MEMORY {
        return Err(MediaError::Limits);
    }
    Ok(decoder)
}

/// The memory processing an image takes at its peak, from its header: the
/// decoded buffer, its conversion to 8-bit RGB(A) when it is not already,
/// the re-encoded original at worst (a PNG as large as its pixels, a JPEG
/// a byte a pixel) and headroom. Refuses more than `MAX_PIXELS`.
fn memory_needed(decoder: &impl ImageDecoder) -> Result<u64, MediaError> {
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(MediaError::Limits);
    }
    let colour = decoder.color_type();
    let alpha = colour.has_alpha();
    let out_channels: u64 = if alpha { 4 } else { 3 };
    let converted = match colour {
        image::ColorType::Rgb8 | image::ColorType::Rgba8 => 0,
        _ => pixels * out_channels,
    };
    let encoded = if alpha { pixels * 4 } else { pixels };
    Ok(decoder.total_bytes() + converted + encoded + SLACK)
}

/// The memory `process` will take for `bytes` (an error when over a limit).
pub fn probe(bytes: &[u8]) -> Result<u64, MediaError> {
    let decoder = checked_decoder(bytes)?;
    memory_needed(&decoder)
}

/// Decodes, orients, strips and re-encodes an image, and makes variants.
/// CPU-bound: call through [`MediaProcessor`], which runs it on a blocking
/// thread under a concurrency cap.
pub fn process(bytes: &[u8]) -> Result<Processed, MediaError> {
    let mut decoder = checked_decoder(bytes)?;
    let orientation = decoder.orientation().map_err(decode_error)?;
    // A profile that is not plausibly ICC (too short, or over 1 MB) is dropped.
    let icc = decoder
        .icc_profile()
        .ok()
        .flatten()
        .filter(|p| p.len() >= 128 && p.len() <= 1 << 20);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);

    // Transparent images stay PNG; everything else becomes a JPEG.
    let alpha = img.color().has_alpha();
    let (mime, ext, out_format) = if alpha {
        ("image/png", "png", ImageFormat::Png)
    } else {
        ("image/jpeg", "jpg", ImageFormat::Jpeg)
    };
    // `into_*` converts in place when the image already is 8-bit RGB(A).
    let img = if alpha {
        DynamicImage::ImageRgba8(img.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(img.into_rgb8())
    };
    let original = encode(&img, out_format, icc.as_deref())?;
    let hash = hex::encode(&Sha256::digest(bytes)[..16]);
    let (width, height) = (img.width(), img.height());
    let mut variants = Vec::new();
    // The filtered resize keeps a 16-byte-a-pixel intermediate as wide as
    // its source: shrink a large original cheaply (box filter, no
    // intermediate) to twice the widest variant first.
    let widest = VARIANT_WIDTHS.iter().copied().filter(|w| *w < width).max();
    let source = match widest {
        Some(w) if width > 2 * w => {
            let h = ((u64::from(height) * u64::from(2 * w)) / u64::from(width)).max(1) as u32;
            std::borrow::Cow::Owned(img.thumbnail_exact(2 * w, h))
        }
        _ => std::borrow::Cow::Borrowed(&img),
    };
    for &w in VARIANT_WIDTHS {
        if w >= width {
            break;
        }
        let h = ((u64::from(height) * u64::from(w)) / u64::from(width)).max(1) as u32;
        let small = source.resize_exact(w, h, image::imageops::FilterType::CatmullRom);
        variants.push((
            MediaVariant {
                width: w,
                height: h,
                ext: ext.to_string(),
            },
            encode(&small, out_format, icc.as_deref())?,
        ));
    }
    // The full size is always a variant too, so srcset covers every width.
    variants.push((
        MediaVariant {
            width,
            height,
            ext: ext.to_string(),
        },
        original.clone(),
    ));
    Ok(Processed {
        hash,
        mime,
        ext,
        width,
        height,
        original,
        variants,
    })
}

fn decode_error(e: image::ImageError) -> MediaError {
    match e {
        image::ImageError::Limits(_) => MediaError::Limits,
        other => MediaError::Decode(other.to_string()),
    }
}

fn encode(
    img: &DynamicImage,
    format: ImageFormat,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, MediaError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
            if let Some(p) = icc {
                // Unsupported only for formats that cannot carry a profile.
                let _ = enc.set_icc_profile(p.to_vec());
            }
            img.write_with_encoder(enc)
        }
        _ => {
            let mut enc = image::codecs::png::PngEncoder::new(&mut out);
            if let Some(p) = icc {
                let _ = enc.set_icc_profile(p.to_vec());
            }
            img.write_with_encoder(enc)
        }
    }
    .map_err(|e| MediaError::Decode(e.to_string()))?;
    Ok(out)
}

/// Runs [`process`] on blocking threads, at most `permits` at once and
/// within `MEMORY_BUDGET` together (each upload holds the megabytes its
/// header says it needs), so a burst of large images can take neither
/// every core nor all the memory.
#[derive(Clone)]
pub struct MediaProcessor {
    permits: Arc<Semaphore>,
    megabytes: Arc<Semaphore>,
}

impl MediaProcessor {
    pub fn new(permits: usize) -> MediaProcessor {
        MediaProcessor {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            megabytes: Arc::new(Semaphore::new((MEMORY_BUDGET >> 20) as usize)),
        }
    }

    pub async fn process(&self, bytes: Vec<u8>) -> Result<Processed, MediaError> {
        let closed = |_| MediaError::Decode("shutting down".into());
        let _permit = self.permits.acquire().await.map_err(closed)?;
        let joined = |e: tokio::task::JoinError| MediaError::Decode(e.to_string());
        let (bytes, needed) = tokio::task::spawn_blocking(move || {
            let needed = probe(&bytes);
            (bytes, needed)
        })
        .await
        .map_err(joined)?;
        let megabytes = u32::try_from(needed?.div_ceil(1 << 20)).unwrap_or(u32::MAX);
        let _memory = self
            .megabytes
            .acquire_many(megabytes)
            .await
            .map_err(closed)?;
        tokio::task::spawn_blocking(move || process(&bytes))
            .await
            .map_err(joined)?
    }
}

/// Where media files live. Local directory now; an object store later
/// implements the same two calls.
pub trait MediaStorage: Send + Sync {
    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), MediaError>;
    fn path(&self, name: &str) -> Option<PathBuf>;
}

/// Files under `<data dir>/media/<first two hex digits>/<name>`.
pub struct LocalMedia {
    root: PathBuf,
}

impl LocalMedia {
    pub fn new(root: &Path) -> LocalMedia {
        LocalMedia {
            root: root.to_path_buf(),
        }
    }

    /// Accepts only names this module writes: `<hex hash>[-<width>].<ext>`.
    pub fn valid_name(name: &str) -> bool {
        let Some((stem, ext)) = name.split_once('.') else {
            return false;
        };
        let hash = stem.split_once('-').map_or(stem, |(h, w)| {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
                ""
            } else {
                h
            }
        });
        hash.len() == 32
            && hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            && matches!(ext, "jpg" | "png")
    }
}

impl MediaStorage for LocalMedia {
    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), MediaError> {
        if !Self::valid_name(name) {
            return Err(MediaError::Storage(format!("bad media name {name:?}")));
        }
        let dir = self.root.join(&name[..2]);
        std::fs::create_dir_all(&dir).map_err(|e| MediaError::Storage(e.to_string()))?;
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).map_err(|e| MediaError::Storage(e.to_string()))?;
        std::fs::rename(&tmp, dir.join(name)).map_err(|e| MediaError::Storage(e.to_string()))
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        Self::valid_name(name).then(|| self.root.join(&name[..2]).join(name))
    }
}

/// The file name of a variant.
pub fn variant_name(hash: &str, width: u32, ext: &str) -> String {
    format!("{hash}-{width}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }));
        encode(&img, ImageFormat::Png, None).unwrap_or_default()
    }

    #[test]
    fn formats_are_sniffed_from_bytes_not_names() {
        assert_eq!(sniff(&png(2, 2)), Ok(ImageFormat::Png));
        assert_eq!(sniff(b"<svg xmlns=\"x\"></svg>"), Err(MediaError::Svg));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg></svg>"),
            Err(MediaError::Svg)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Err(MediaError::Heic));
        assert_eq!(sniff(b"hello"), Err(MediaError::Unsupported));
    }

    #[test]
    fn variants_are_made_below_the_original_width() {
        let p = process(&png(1200, 600)).unwrap_or_else(|e| panic!("{e}"));
        let widths: Vec<u32> = p.variants.iter().map(|v| v.0.width).collect();
        assert_eq!(widths, vec![480, 960, 1200]);
        assert_eq!(p.variants[0].0.height, 240);
        assert_eq!(p.ext, "jpg", "opaque images become JPEG");
    }

    /// A 60×20 JPEG whose EXIF says "rotate 90° clockwise to display"
    /// (orientation 6), with an ICC profile.
    fn rotated_jpeg(icc: &[u8]) -> Vec<u8> {
        use image::ImageEncoder;
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(60, 20, |x, _| {
            if x < 10 {
                image::Rgb([250, 0, 0])
            } else {
                image::Rgb([0, 0, 250])
            }
        }));
        // TIFF little-endian, one IFD entry: 0x0112 (orientation), SHORT, 1, 6.
        let mut exif = b"II*\0\x08\0\0\0\x01\0".to_vec();
        exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
        enc.set_exif_metadata(exif)
            .unwrap_or_else(|e| panic!("{e}"));
        enc.set_icc_profile(icc.to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        img.write_with_encoder(enc)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn orientation_is_applied_exif_dropped_and_the_colour_profile_kept() {
        let icc: Vec<u8> = (0..700u32).map(|i| (i % 251) as u8).collect();
        let p = process(&rotated_jpeg(&icc)).unwrap_or_else(|e| panic!("{e}"));
        // Rotated to portrait; the red band that was on the left is now on top.
        assert_eq!((p.width, p.height), (20, 60));
        let out = image::load_from_memory(&p.original)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_rgb8();
        assert!(out.get_pixel(10, 2)[0] > 200, "red on top after rotation");
        assert!(out.get_pixel(10, 50)[2] > 200, "blue below");
        // No EXIF left (it could carry GPS); the profile is carried over.
        assert!(!p.original.windows(6).any(|w| w == b"Exif\0\0"));
        let mut dec = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&p.original))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dec.icc_profile().ok().flatten(), Some(icc));
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // A valid PNG header claiming 50,000×50,000 pixels in a few bytes.
        let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&50_000u32.to_be_bytes());
        ihdr.extend_from_slice(&50_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        bomb.extend_from_slice(&13u32.to_be_bytes());
        bomb.extend_from_slice(&ihdr);
        bomb.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        assert_eq!(process(&bomb).err(), Some(MediaError::Limits));
    }

    /// A real, tiny PNG of `w`×`h` greyscale pixels (all zero).
    fn grey_png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let enc = image::codecs::png::PngEncoder::new(&mut out);
        let row = vec![0u8; w as usize];
        let mut data = Vec::new();
        for _ in 0..h {
            data.extend_from_slice(&row);
        }
        use image::ImageEncoder;
        enc.write_image(&data, w, h, image::ExtendedColorType::L8)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn pixels_and_memory_are_limited_from_the_header() {
        // 8000×6500 greyscale: 52 megapixels in a small file (the reported
        // bomb was 12000×12000); refused before any pixel is decoded.
        let bomb = grey_png(8_000, 6_500);
        assert!(bomb.len() < 1_000_000, "{}", bomb.len());
        assert_eq!(probe(&bomb).err(), Some(MediaError::Limits));
        assert_eq!(process(&bomb).err(), Some(MediaError::Limits));
        // Within the pixel limit, the estimate stays within the bound, and
        // an image whose conversion would pass it is refused.
        let ok = grey_png(2000, 1500);
        let needed = probe(&ok).unwrap_or(u64::MAX);
        assert!(needed <= MAX_UPLOAD_MEMORY, "{needed}");
        assert!(process(&ok).is_ok());
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn a_truncated_image_is_a_decode_error() {
        let mut bytes = png(64, 64);
        bytes.truncate(60);
        assert!(matches!(process(&bytes), Err(MediaError::Decode(_))));
    }

    #[test]
    fn media_names_cannot_escape_the_directory() {
        assert!(LocalMedia::valid_name(
            "0123456789abcdef0123456789abcdef-480.jpg"
        ));
        assert!(LocalMedia::valid_name(
            "0123456789abcdef0123456789abcdef.png"
        ));
        for bad in [
            "../x.jpg",
            "0123456789abcdef0123456789abcdef-.jpg",
            "0123.jpg",
            "0123456789abcdef0123456789abcdef.svg",
            "0123456789ABCDEF0123456789abcdef.png",
        ] {
            assert!(!LocalMedia::valid_name(bad), "{bad}");
        }
    }
}
