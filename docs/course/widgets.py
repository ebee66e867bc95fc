"""writes the course page from the lesson, with an explorer after the heading of §1, §5, §7, §9,
§10 and §11.

usage: python3 widgets.py <lesson.vi.md> <out.md>
each widget is preset to make its section's point; see README ("Embedding in course pages").
the two logit-lens widgets (§1, §11) say what SmolLM2-135M really predicts for their prompt, as
`unembed lens <whole model> --prompt "…" --generate 8` prints it (numbers from that run; the
page computes the same pass in WebAssembly). when a prediction is wrong, the text says so:
nothing is tuned to make it look right.
"""
import re
import sys

WIDGETS = {
    "1": ('Thử ngay: chuỗi xử lý của mục này, chạy thật trên SmolLM2-135M (cả mô hình, khoảng 98 MB, '
          'chỉ tải khi widget hiện trên màn hình). Prompt "The capital of France is" được tách thành 5 token; '
          'mỗi ô của bản đồ nhiệt là token mà mô hình sẽ đoán nếu dừng lại sau tầng đó (h đi qua lớp chuẩn hoá '
          'cuối rồi unembedding). Ở tầng cuối (tầng 30) mô hình đoán đúng " Paris", xác suất khoảng 0,76, và '
          'sinh tiếp " Paris.", hai lần xuống dòng, rồi "The United States has". '
          'Nhưng " Paris" chỉ lên đầu ở chính tầng cuối: các '
          'tầng giữa đoán dấu câu, dấu cách, rồi " the" (tầng 27). Bấm vào một ô để lấy trạng thái ẩn của nó '
          'làm h cho bảng bên dưới; dòng "token → embedding → … → softmax" cho biết h hiện tại đến từ đâu.',
          '<unembed-explorer prompt="The capital of France is" views="lens,topk,table"></unembed-explorer>'),
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
    "11": ('Thử ngay: logit lens, tức là áp Prediction = Softmax(E h) cho trạng thái ẩn của mọi tầng chứ không '
           'chỉ tầng cuối. Với prompt tiếng Việt "Hà Nội là thủ đô của", mô hình đoán sai. SmolLM2-135M học chủ '
           'yếu từ văn bản tiếng Anh: nó tách câu thành 18 token (các chữ như "ộ", "ủ", "đ" bị cắt thành mảnh '
           'byte), và ở tầng cuối token đứng đầu chỉ là " n" với xác suất khoảng 0,07 (sau đó là "," và " th"); '
           'sinh tiếp 8 token theo kiểu tham lam cho ra " nhữtụt", không phải "Việt Nam". Kết quả được giữ nguyên, '
           'không chỉnh gì. Các tầng giữa gần như chắc chắn đoán dấu phẩy (xác suất trên 0,99 ở các tầng 9 đến '
           '15), và không tầng nào đưa dự đoán cuối cùng lên quá p = 0,5: dải "p > 0,5 từ" để trống.',
           '<unembed-explorer prompt="Hà Nội là thủ đô của" views="lens,topk,table"></unembed-explorer>'),
}


def main(src: str, out: str) -> None:
    text = open(src, encoding="utf-8").read()
    # the course's own navigation block points at sibling lessons this example does not have.
    text = re.sub(r"<!-- Aero-Navigation-Start -->.*?<!-- Aero-Navigation-End -->", "", text, flags=re.S)
    # a display formula is one Markdown block for arithmatex: the lesson's blank lines inside
    # $$ … $$ would split it and leave the dollars as text.
    text = re.sub(r"^\$\$\n(.*?)^\$\$$",
                  lambda m: "$$\n" + "\n".join(l for l in m.group(1).splitlines() if l.strip()) + "\n$$",
                  text, flags=re.S | re.M)
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
