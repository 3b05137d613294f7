//! placeholder
pub struct DemoOptions {
    pub dir: Option<std::path::PathBuf>,
    pub keep_running: bool,
}
pub async fn run(_o: DemoOptions) -> anyhow::Result<()> {
    Ok(())
}
