//! Reference data through the service: the catalog (read by all; adjusted by the hall centre
//! through the adjustment procedure, W11; imported whole by the operator), the working-day
//! calendar (imported by the operator). Edited at the hall only: townships receive new versions
//! by sync.

use serde::Serialize;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::{Adjustment, Catalog};

use super::{Action, Service, ServiceError, Staff};
use crate::doc::RefKind;

/// What an import or adjustment stored.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CatalogStored {
    pub version: String,
    pub items: usize,
}

impl Service {
    /// The catalog this node holds.
    pub fn catalog(&self) -> Result<std::sync::Arc<Catalog>, ServiceError> {
        let refs = self.refs()?;
        refs.catalog().map(|_| ())?;
        refs.catalog.ok_or_else(|| ServiceError::internal("事项清单不可用"))
    }

    /// W11: one adjustment by the hall centre, effective no earlier than today.
    pub fn adjust_catalog(&self, staff: &Staff, change: Adjustment) -> Result<CatalogStored, ServiceError> {
        self.require(staff, Action::AdjustCatalog)?;
        self.require_hall("事项清单")?;
        let _desk = self.desk.lock().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))?;
        let current = self.refs()?;
        let next = current.catalog()?.adjust(change, self.today())?;
        self.store.put_reference(RefKind::Catalog, &next)?;
        Ok(CatalogStored { version: next.version.clone(), items: next.items.len() })
    }

    /// Replaces the catalog with a checked file (the operator's `yikou catalog import`; hall only).
    pub fn import_catalog(&self, toml: &str) -> Result<CatalogStored, ServiceError> {
        self.require_hall("事项清单")?;
        let catalog = Catalog::from_toml(toml)?;
        self.store.put_reference(RefKind::Catalog, &catalog)?;
        Ok(CatalogStored { version: catalog.version.clone(), items: catalog.items.len() })
    }

    /// Replaces the working-day calendar with a checked file (hall only). The years of the
    /// built-in calendar stay unless the file gives them again.
    pub fn import_calendar(&self, toml: &str) -> Result<Vec<i32>, ServiceError> {
        self.require_hall("工作日历")?;
        let file = WorkCalendar::from_toml(toml)
            .map_err(|e| ServiceError::invalid("calendar.invalid", None, format!("工作日历文件有误:{e}")))?;
        let mut calendar = (*self.refs()?.calendar).clone();
        calendar.merge(file);
        self.store.put_reference(RefKind::Calendar, &calendar)?;
        Ok(calendar.loaded_years().collect())
    }
}
