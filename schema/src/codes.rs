//! Small code newtypes shared by every module: they keep an item code from being passed where a
//! department code is expected. Validation of their shape happens where they enter (catalog
//! parser, API), not here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! code_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(code: impl Into<String>) -> Self {
                Self(code.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

code_newtype!(
    /// An item's code in the catalog (事项编码).
    ItemCode
);
code_newtype!(
    /// A department's code (职能部门编码).
    DepartmentCode
);
code_newtype!(
    /// A material's code within its item (材料编码).
    MaterialCode
);
code_newtype!(
    /// A staff member's account id (工作人员账号).
    StaffId
);
code_newtype!(
    /// A node's name (节点名), unique in the network; assigned by the network CA.
    NodeName
);
