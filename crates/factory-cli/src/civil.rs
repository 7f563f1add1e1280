//! Calendar arithmetic: the trust layer's, which dates statements.

pub(crate) use factory_trust::civil::*;
