"""The live camera picture on the scan screen: mirrored, with a guide frame to hold the code in."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Property, QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QHideEvent,
    QImage,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

if TYPE_CHECKING:  # numpy arrives with the camera, in the background: the home screen must not wait for it
    import numpy as np

log = logging.getLogger(__name__)

GUIDE_SHARE = 0.62  # the guide square's side, as a share of the picture's shorter side
CORNER_SHARE = 0.22  # each corner mark's arm, as a share of the guide square's side
CORNER_PEN_PX = 10
CORNER_RADIUS_PX = 24
PLACEHOLDER_PADDING_PX = 40
# A camera that is there sends its first picture within a frame or two. Until then the guide square shows
# alone; only a picture that stays away this long is worth telling the visitor about.
NO_PICTURE_AFTER_MS = 2000
WAITING_ASPECT = 4 / 3  # the shape the guide is drawn in before the first picture (640x480 cameras)
FACE_OVAL_HEIGHT_SHARE = 0.72  # the face guide's height, as a share of the picture's height
FACE_OVAL_ASPECT = 0.75  # the face guide's width to its height


def frame_to_image(frame: object) -> tuple[np.ndarray, QImage] | None:
    """A BGR uint8 height x width x 3 array and a QImage over its memory; None if `frame` is no such array.

    The image borrows the array's buffer (no copy, except of a sliced, non-contiguous array): keep the
    returned array alive as long as the image.
    """
    import numpy as np

    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        return None
    height, width = frame.shape[:2]
    if height == 0 or width == 0:
        return None
    if not frame.flags.c_contiguous:
        frame = np.ascontiguousarray(frame)
    return frame, QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_BGR888)


def _color_property(attribute: str) -> Property:
    def getter(self: CameraPreview) -> QColor:
        return QColor(getattr(self, attribute))

    def setter(self: CameraPreview, color: QColor) -> None:
        setattr(self, attribute, QColor(color))
        self.update()

    return Property(QColor, getter, setter)


class CameraPreview(QWidget):
    """Shows the latest frame it was given, scaled to fit and mirrored (people expect a mirror), with a guide
    square; without a picture (the camera is gone, or no frame came for NO_PICTURE_AFTER_MS) a calm
    placeholder asks for the keypad instead.

    Each new frame is painted once; `frame_consumed` then says the next one may come (see
    CoreBridge.offer_frame). A frame that cannot be shown (hidden, no camera) is consumed at once.
    Colours come from the QSS theme through qproperty-* (see resources/themes).
    """

    frame_consumed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("camera_preview")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.frames_shown = 0  # new frames painted (for the benchmark)
        self._frame: np.ndarray | None = None  # keeps the memory the image borrows alive
        self._image: QImage | None = None
        self._unpainted = False
        self._camera_connected = True
        self._top_aligned = True
        self._picture_missing = False  # connected, yet no frame came for no_picture_after_ms
        self._refused_logged = False
        self._no_picture_timer = QTimer(self)
        self._no_picture_timer.setSingleShot(True)
        self._no_picture_timer.setInterval(NO_PICTURE_AFTER_MS)
        self._no_picture_timer.timeout.connect(self._picture_stayed_away)
        self._background = QColor("#15191F")
        self._guide = QColor("#FFFFFF")
        self._placeholder = QColor("#E6EAF0")
        self._placeholder_border = QColor("#B9C1CC")
        # A label, not painted text: screen readers and QA find it, the layout tests measure it.
        self._placeholder_label = QLabel(self)
        self._placeholder_label.setObjectName("camera_placeholder_label")
        self._placeholder_label.setProperty("role", "camera_placeholder")
        self._placeholder_label.setTextFormat(Qt.TextFormat.PlainText)
        self._placeholder_label.setWordWrap(True)
        self._placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._refresh()

    backgroundColor = _color_property("_background")
    guideColor = _color_property("_guide")
    placeholderColor = _color_property("_placeholder")
    placeholderBorderColor = _color_property("_placeholder_border")

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def showing_picture(self) -> bool:
        return self._camera_connected and self._image is not None

    def showing_placeholder(self) -> bool:
        """The "no picture, please type" placeholder is up (not a picture, not the wait for the first one)."""
        return not self._camera_connected or (self._picture_missing and self._image is None)

    def set_no_picture_after(self, milliseconds: int) -> None:
        self._no_picture_timer.setInterval(max(1, milliseconds))

    def set_camera_connected(self, connected: bool) -> None:
        if connected == self._camera_connected:
            return
        self._camera_connected = connected
        if connected:
            self._wait_for_picture()
        else:
            self._no_picture_timer.stop()
            self.clear()
        self._refresh()

    def _wait_for_picture(self) -> None:
        self._picture_missing = False
        if self._camera_connected and self.isVisible():
            self._no_picture_timer.start()

    def _picture_stayed_away(self) -> None:
        self.clear()
        self._picture_missing = True
        self._refresh()

    def show_frame(self, frame: object) -> None:
        """Take the latest camera picture (a BGR uint8 height x width x 3 numpy array)."""
        converted = frame_to_image(frame) if self._camera_connected and self.isVisible() else None
        if converted is None:
            if self._camera_connected and self.isVisible() and not self._refused_logged:
                self._refused_logged = True
                log.warning("The camera preview cannot show %s; it wants a BGR uint8 height x width x 3 "
                            "array", _describe(frame))
            self.frame_consumed.emit()
            return
        first = self._image is None or self._picture_missing
        self._picture_missing = False
        self._no_picture_timer.start()
        if self._unpainted:
            # Only reachable if someone calls this directly, bypassing the bridge's one-at-a-time rule.
            self.frame_consumed.emit()
        self._frame, self._image = converted
        self._unpainted = True
        if first:
            self._refresh()
        else:
            self.update()

    def clear(self) -> None:
        """Forget the picture: the next visitor must not see the last one's face, even for a moment."""
        had_unpainted = self._unpainted
        self._frame = None
        self._image = None
        self._unpainted = False
        self._refresh()
        if had_unpainted:
            self.frame_consumed.emit()

    def image_rect(self) -> QRectF:
        """Where the picture is drawn: as large as fits, aspect ratio kept, centred."""
        if self._image is None:
            return self._fitted(WAITING_ASPECT)
        return self._fitted(self._image.width() / self._image.height())

    def set_top_aligned(self, top: bool) -> None:
        """Picture at the top of the widget (beside a screen's title) or centred in it (under the title)."""
        self._top_aligned = top
        self._refresh()

    def _fitted(self, aspect: float) -> QRectF:
        area = QRectF(self.rect())
        width = min(area.width(), area.height() * aspect)
        height = width / aspect
        top = area.top() if self._top_aligned else area.center().y() - height / 2
        return QRectF(area.center().x() - width / 2, top, width, height)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.showing_picture():
            self._paint_picture(painter)
        elif self.showing_placeholder():
            self._paint_placeholder(painter)
        else:
            # Waiting for the first picture: its place, outlined (a black theme would hide it), and the guide.
            waiting = self.image_rect().adjusted(2, 2, -2, -2)
            painter.setPen(QPen(self._placeholder_border, 3))
            painter.setBrush(self._background)
            painter.drawRoundedRect(waiting, CORNER_RADIUS_PX, CORNER_RADIUS_PX)
            self._paint_guide(painter, waiting)
        painter.end()
        if self._unpainted:
            self._unpainted = False
            self.frames_shown += 1
            self.frame_consumed.emit()

    def _paint_picture(self, painter: QPainter) -> None:
        assert self._image is not None
        target = self.image_rect()
        painter.save()
        rounded = QPainterPath()
        rounded.addRoundedRect(target, CORNER_RADIUS_PX, CORNER_RADIUS_PX)
        painter.setClipPath(rounded)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        # Mirrored about the picture's vertical centre line while drawing: no mirrored copy is made.
        painter.translate(target.center().x() * 2, 0)
        painter.scale(-1, 1)
        painter.drawImage(target, self._image)
        painter.restore()
        self._paint_guide(painter, target)

    def _paint_guide(self, painter: QPainter, picture: QRectF) -> None:
        side = min(picture.width(), picture.height()) * GUIDE_SHARE
        square = QRectF(picture.center().x() - side / 2, picture.center().y() - side / 2, side, side)
        arm = side * CORNER_SHARE
        pen = QPen(self._guide, CORNER_PEN_PX)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        corners = (
            (square.topLeft(), 1, 1),
            (square.topRight(), -1, 1),
            (square.bottomLeft(), 1, -1),
            (square.bottomRight(), -1, -1),
        )
        for corner, dx, dy in corners:
            painter.drawPolyline([
                QPointF(corner.x(), corner.y() + dy * arm),
                corner,
                QPointF(corner.x() + dx * arm, corner.y()),
            ])

    def _paint_placeholder(self, painter: QPainter) -> None:
        frame = self.image_rect().adjusted(2, 2, -2, -2)
        painter.setPen(QPen(self._placeholder_border, 3, Qt.PenStyle.DashLine))
        painter.setBrush(self._placeholder)
        painter.drawRoundedRect(frame, CORNER_RADIUS_PX, CORNER_RADIUS_PX)

    def _placeholder_message(self) -> str:
        return self.tr("The camera shows no picture. Please type your code instead.")

    def showEvent(self, event: QShowEvent) -> None:
        self._wait_for_picture()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._no_picture_timer.stop()
        self.clear()
        super().hideEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._refresh()
        super().changeEvent(event)

    def _refresh(self) -> None:
        """Texts, accessible name and the placeholder label for what is shown now; then repaint."""
        placeholder = self.showing_placeholder()
        message = self._placeholder_message()
        self._placeholder_label.setText(message)
        self._placeholder_label.setAccessibleName(message)
        self._placeholder_label.setGeometry(self.image_rect().toRect().adjusted(
            PLACEHOLDER_PADDING_PX, PLACEHOLDER_PADDING_PX, -PLACEHOLDER_PADDING_PX, -PLACEHOLDER_PADDING_PX))
        self._placeholder_label.setVisible(placeholder)
        self.setAccessibleName(message if placeholder else self._picture_description())
        self.update()

    def _picture_description(self) -> str:
        """The accessible name while the picture (or the wait for it) is shown."""
        return self.tr("Camera picture: hold your QR code inside the frame")


class FacePreview(CameraPreview):
    """The camera picture on the face screens: the same mirrored live picture, with an oval to put the face in
    instead of the square for a code. Like every preview it forgets the picture as soon as it is hidden.

    offer_keypad: without a picture, point at the keypad (pickup) or only say there is none (enrolment).
    """

    def __init__(self, *, offer_keypad: bool, parent: QWidget | None = None) -> None:
        self._offer_keypad = offer_keypad  # before the base class renders its texts
        super().__init__(parent)

    def _placeholder_message(self) -> str:
        if self._offer_keypad:
            return self.tr("The camera shows no picture. Please type your code instead.")
        return self.tr("The camera shows no picture.")

    def _picture_description(self) -> str:
        return self.tr("Camera picture: put your face inside the oval")

    def _paint_guide(self, painter: QPainter, picture: QRectF) -> None:
        # A face is taller than wide; the oval takes most of the picture's height, as a face at arm's length.
        height = picture.height() * FACE_OVAL_HEIGHT_SHARE
        width = height * FACE_OVAL_ASPECT
        oval = QRectF(picture.center().x() - width / 2, picture.center().y() - height / 2, width, height)
        pen = QPen(self._guide, CORNER_PEN_PX)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(oval)


def _describe(frame: object) -> str:
    import numpy as np

    if isinstance(frame, np.ndarray):
        return f"an array of {frame.dtype} with shape {frame.shape}"
    return f"a {type(frame).__name__}"
