//! Text -> syntax tree. The grammar lives in `grammar/gate.pest`.

pub mod ast;
mod parser;

pub use parser::parse;
