//! Pure readers of the versioned artifacts (no I/O): the signoff front matter and the eval
//! summary, and whether they are about the released model. The steps fetch the bytes; these
//! decide.

pub mod eval_checks;
pub mod eval_summary;
pub mod front_matter;
pub mod model_binding;
pub mod signoff;
