//! the page's plotters backend: plotters-canvas's `CanvasBackend`, except that a text's size is
//! measured on the canvas (`measureText`) instead of by plotters' web font code, which puts a
//! `<span>` in the document and reads its `offsetHeight` for every label: a forced layout of
//! the whole page per label, the largest DOM cost of a slider step (plotters 0.3.7,
//! `src/style/font/web.rs`, `estimate_layout`). everything else goes to `CanvasBackend`.

use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsError;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::context_2d;

pub struct Canvas {
    inner: CanvasBackend,
    context: CanvasRenderingContext2d,
}

impl Canvas {
    pub fn new(canvas: &HtmlCanvasElement) -> Result<Canvas, JsError> {
        let inner = CanvasBackend::with_canvas_object(canvas.clone())
            .ok_or_else(|| JsError::new("this canvas has no 2d context"))?;
        Ok(Canvas {
            inner,
            context: context_2d(canvas)?,
        })
    }
}

/// plotters-canvas does not export its error type by name.
type CanvasError = <CanvasBackend as DrawingBackend>::ErrorType;
type Drawn = Result<(), DrawingErrorKind<CanvasError>>;

impl DrawingBackend for Canvas {
    type ErrorType = CanvasError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Drawn {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Drawn {
        self.inner.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, s: &S) -> Drawn {
        self.inner.draw_line(from, to, s)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Drawn {
        self.inner.draw_rect(upper_left, bottom_right, s, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Drawn {
        self.inner.draw_path(path, s)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        s: &S,
        fill: bool,
    ) -> Drawn {
        self.inner.draw_circle(center, radius, s, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> Drawn {
        self.inner.fill_polygon(vert, s)
    }
    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, s: &S, pos: BackendCoord) -> Drawn {
        self.inner.draw_text(text, s, pos)
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn {
        self.inner.blit_bitmap(pos, size, src)
    }

    /// the text's advance width and its font's ascent + descent, in the font `draw_text`
    /// sets (plotters-canvas's `"{style} {size}px {family}"`), rounded up: what a `<span>` of
    /// that font measures, without a layout.
    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        s: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        self.context.set_font(&format!(
            "{} {}px {}",
            s.style().as_str(),
            s.size(),
            s.family().as_str(),
        ));
        let m = self
            .context
            .measure_text(text)
            .map_err(|_| DrawingErrorKind::FontError(Box::new(CanvasFontError)))?;
        let height = m.font_bounding_box_ascent() + m.font_bounding_box_descent();
        let height = if height > 0.0 { height } else { 1.2 * s.size() };
        Ok((m.width().ceil() as u32, height.ceil() as u32))
    }
}

#[derive(Debug)]
struct CanvasFontError;

impl std::fmt::Display for CanvasFontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the canvas cannot measure this text")
    }
}

impl std::error::Error for CanvasFontError {}
