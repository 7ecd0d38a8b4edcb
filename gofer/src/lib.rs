//! moat gofer
