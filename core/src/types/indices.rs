//! The integer domains of GP notation.tex and definitions.tex that the types below name.
//! They are aliases: the GP's type distinctions are documentation, and each
//! field's codec (fixed width or compact) is stated where the field is.

/// `N_S`: a service index (GP accounts.tex); `E_4` in every encoding.
pub type ServiceId = u32;
/// `N_T`: a timeslot index, six-second periods since the JAM common era; `E_4`.
pub type TimeSlot = u32;
/// `N_V`: a validator index; `E_2` in blocks.
pub type ValidatorIndex = u16;
/// `N_C`: a core index; compact in a work report, otherwise `E_2`.
pub type CoreIndex = u16;
/// `N_G`: an amount of gas, `< 2^64`.
pub type Gas = u64;
