//! The one error type: a stable [`ErrorKind`] that code branches on, and a message for people.

use std::fmt;

/// What went wrong, as a stable category. [`ErrorKind::as_str`] gives the name the browser's
/// JavaScript sees as `error.kind`; these strings are part of the API and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `config.json` is not a valid CLIPSeg configuration.
    Config,
    /// Weights are missing, partial, or do not match the configuration.
    Weights,
    /// `tokenizer.json` is invalid, or a text cannot be tokenised.
    Tokenizer,
    /// An image in a format this crate reads that cannot be decoded, bad pixels, an empty image.
    Image,
    /// Not an image format this crate reads (the browser then tries its own decoder).
    UnsupportedImage,
    /// A bad prompt: nothing to segment, an empty text, a bad box, mask or mix weight.
    Prompt,
    /// Calls in the wrong order or missing arguments (e.g. segmenting before an image is set).
    Usage,
    /// The requested backend cannot start (no WebGPU, no GPU driver, unknown backend name).
    Backend,
    /// The device failed during a computation or while reading a result back.
    Device,
    /// Reading or writing a file (native only).
    Io,
    /// A labelling file or mask is invalid: COCO JSON, RLE counts, polygons, YOLO lines, or masks
    /// of different sizes combined.
    Annotations,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 11] = [
        Self::Config,
        Self::Weights,
        Self::Tokenizer,
        Self::Image,
        Self::UnsupportedImage,
        Self::Prompt,
        Self::Usage,
        Self::Backend,
        Self::Device,
        Self::Io,
        Self::Annotations,
    ];

    /// The stable name: `"config"`, `"weights"`, `"tokenizer"`, `"image"`, `"unsupported-image"`,
    /// `"prompt"`, `"usage"`, `"backend"`, `"device"`, `"io"` or `"annotations"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Weights => "weights",
            Self::Tokenizer => "tokenizer",
            Self::Image => "image",
            Self::UnsupportedImage => "unsupported-image",
            Self::Prompt => "prompt",
            Self::Usage => "usage",
            Self::Backend => "backend",
            Self::Device => "device",
            Self::Io => "io",
            Self::Annotations => "annotations",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong: a kind to branch on and a message meant for the person using
/// the tool (what `Display` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

macro_rules! constructors {
    ($($name:ident => $kind:ident),* $(,)?) => {
        $(
            #[doc = concat!("An error of kind [`ErrorKind::", stringify!($kind), "`].")]
            pub fn $name(message: impl Into<String>) -> Self {
                Self::new(ErrorKind::$kind, message)
            }
        )*
    };
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    constructors! {
        config => Config,
        weights => Weights,
        tokenizer => Tokenizer,
        image => Image,
        unsupported_image => UnsupportedImage,
        prompt => Prompt,
        usage => Usage,
        backend => Backend,
        device => Device,
        io => Io,
        annotations => Annotations,
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` in front of its message (e.g. the file it concerns).
    pub fn context(self, context: impl fmt::Display) -> Self {
        Self { kind: self.kind, message: format!("{context}: {}", self.message) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_their_stable_names() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["config", "weights", "tokenizer", "image", "unsupported-image", "prompt", "usage", "backend", "device", "io", "annotations"]
        );
    }

    #[test]
    fn display_is_the_message_and_context_keeps_the_kind() {
        let error = Error::image("cannot decode the image").context("a.png");
        assert_eq!(error.kind(), ErrorKind::Image);
        assert_eq!(error.to_string(), "a.png: cannot decode the image");
    }
}
