//! What to do about each reason, in one line: the "what to do" column of
//! the README's Policy findings table, condensed for the HTML report. A
//! match rather than a table, so that a new reason cannot ship without
//! its advice.

use crate::findings::Reason;

pub fn advice(reason: Reason) -> &'static str {
    match reason {
        Reason::PairLeaked => {
            "Reset first: the password leaked next to this account's name. Check the account for misuse."
        }
        Reason::Reversible => {
            "Clear \"Store password using reversible encryption\" (and in fine-grained policies), then reset: the old password stays readable until it changes."
        }
        Reason::Pwned => "Force a reset: attackers try breached passwords first.",
        Reason::Empty => "Set a password or disable the account now.",
        Reason::LmHash => {
            "Enable \"Do not store LAN Manager hash value on next password change\", then reset."
        }
        Reason::Username => "Reset: the account name is any attacker's first guess.",
        Reason::Banned => "Reset, and add the words to the password filter.",
        Reason::DefaultComputerPassword => {
            "Anyone who knows the name can log on as it: reset the machine account (Reset-ComputerMachinePassword, or re-join) or remove it."
        }
        Reason::PrivilegedShared => {
            "Reset the privileged account first: compromising the ordinary account gives the admin."
        }
        Reason::Shared => "Reset all but one; often a default or onboarding password.",
        Reason::Short => "Reset at next login with a longer password.",
        Reason::NoAesKeys => "Advisory: a reset creates the AES keys; until then Kerberos falls back to RC4.",
        Reason::HistoryPwned => {
            "Advisory: an old password is breached; make sure the new one is not a variant."
        }
        Reason::AccountInLeak => "Advisory: the owner reuses the address elsewhere.",
        Reason::Unchecked => {
            "A source could not answer for these accounts: fix the source and rerun (they are not clean)."
        }
    }
}
