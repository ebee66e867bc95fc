"""writes the course page from the lesson, with an explorer after the heading of §5, §7, §9, §10.

usage: python3 widgets.py <lesson.vi.md> <out.md>
each widget is preset to make its section's point; see README ("Embedding in course pages").
"""
import re
import sys

WIDGETS = {
    "5": ('Thử ngay: h = v(" Paris"). Kéo nhiệt độ T để thấy phân phối nhọn lên hay bẹt ra; '
          'logit cao nhất thuộc về các token có vector dài, không phải " Paris".',
          '<unembed-explorer token=" Paris" temperature="0.8" views="topk,cosnorm,table"></unembed-explorer>'),
    "7": ('Thử ngay: h = v(" king"), token đích " queen". Bấm "Bước" vài lần: gradient kéo h về phía '
          'embedding của " queen" và xác suất của nó tăng lên.',
          '<unembed-explorer token=" king" target=" queen" views="topk,loss,table"></unembed-explorer>'),
    "9": ('Thử ngay: xếp hạng theo cosine đặt " Paris" lên đầu, còn xếp hạng theo tích vô hướng thì không; '
          'bảng bên phải cho biết mỗi token bị chuẩn ‖v‖ đẩy đi bao xa.',
          '<unembed-explorer token=" Paris" views="cosnorm,table"></unembed-explorer>'),
    "10": ('Thử ngay: phổ của E. σ₁ lớn gấp khoảng năm lần σ₂; kéo các thanh trượt theo hướng kỳ dị '
           'để thấy thành phần của h theo v₁ chi phối mọi logit.',
           '<unembed-explorer token=" the" views="spectrum,topk"></unembed-explorer>'),
}


def main(src: str, out: str) -> None:
    text = open(src, encoding="utf-8").read()
    # the course's own navigation block points at sibling lessons this example does not have.
    text = re.sub(r"<!-- Aero-Navigation-Start -->.*?<!-- Aero-Navigation-End -->", "", text, flags=re.S)
    lines = text.splitlines()
    placed = []
    result = []
    for line in lines:
        result.append(line)
        m = re.match(r"^## (\d+)\.", line)
        if m and m.group(1) in WIDGETS:
            note, widget = WIDGETS[m.group(1)]
            result += ["", f"> {note}", "", widget, ""]
            placed.append(m.group(1))
    missing = set(WIDGETS) - set(placed)
    if missing:
        sys.exit(f"widgets.py: sections {sorted(missing)} not found in {src}")
    open(out, "w", encoding="utf-8").write("\n".join(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
