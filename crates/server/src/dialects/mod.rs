pub mod identitytoolkit;
