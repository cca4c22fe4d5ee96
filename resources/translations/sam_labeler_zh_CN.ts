<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ActionRegistry</name>
    <message>
        <source>Shortcuts changed but the settings could not be saved: {error}</source>
        <translation>快捷键已更改，但设置无法保存：{error}</translation>
    </message>
</context>
<context>
    <name>Actions</name>
    <message>
        <source>Previous image</source>
        <translation>上一张图像</translation>
    </message>
    <message>
        <source>Next image</source>
        <translation>下一张图像</translation>
    </message>
    <message>
        <source>Image flags…</source>
        <translation>图像标志…</translation>
    </message>
    <message>
        <source>SAM point tool</source>
        <translation>SAM 点工具</translation>
    </message>
    <message>
        <source>SAM box tool</source>
        <translation>SAM 框工具</translation>
    </message>
    <message>
        <source>SAM scribble tool</source>
        <translation>SAM 涂鸦工具</translation>
    </message>
    <message>
        <source>Polygon tool</source>
        <translation>多边形工具</translation>
    </message>
    <message>
        <source>Edit tool</source>
        <translation>编辑工具</translation>
    </message>
    <message>
        <source>Text prompt (phrases -&gt; masks)</source>
        <translation>文本提示（短语 -&gt; 掩码）</translation>
    </message>
    <message>
        <source>Segment everything</source>
        <translation>分割全部</translation>
    </message>
    <message>
        <source>Next candidate mask</source>
        <translation>下一个候选掩码</translation>
    </message>
    <message>
        <source>Previous candidate mask</source>
        <translation>上一个候选掩码</translation>
    </message>
    <message>
        <source>Accept candidate</source>
        <translation>接受候选</translation>
    </message>
    <message>
        <source>Clear prompts / cancel</source>
        <translation>清除提示 / 取消</translation>
    </message>
    <message>
        <source>Fewer polygon vertices (coarser outline)</source>
        <translation>减少多边形顶点（更粗略的轮廓）</translation>
    </message>
    <message>
        <source>More polygon vertices (finer outline)</source>
        <translation>增加多边形顶点（更精细的轮廓）</translation>
    </message>
    <message>
        <source>Flags and attributes of the label class…</source>
        <translation>标签类别的标志与属性…</translation>
    </message>
    <message>
        <source>Label class {n}</source>
        <translation>标签类别 {n}</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Delete annotation</source>
        <translation>删除标注</translation>
    </message>
    <message>
        <source>Re-simplify polygons at the current density</source>
        <translation>按当前密度重新简化多边形</translation>
    </message>
    <message>
        <source>Annotation details (group, description, flags, attributes)…</source>
        <translation>标注详情（分组、描述、标志、属性）…</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Open project…</source>
        <translation>打开项目…</translation>
    </message>
    <message>
        <source>Open image folder…</source>
        <translation>打开图像文件夹…</translation>
    </message>
    <message>
        <source>Import annotations…</source>
        <translation>导入标注…</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <source>Fit image to window</source>
        <translation>图像适应窗口</translation>
    </message>
    <message>
        <source>Model manager…</source>
        <translation>模型管理器…</translation>
    </message>
    <message>
        <source>Pre-encode all images</source>
        <translation>预先编码所有图像</translation>
    </message>
    <message>
        <source>Propagate annotations through frames…</source>
        <translation>沿帧传播标注…</translation>
    </message>
    <message>
        <source>Auto-label images…</source>
        <translation>自动标注图像…</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Unknown action &apos;{id}&apos;.</source>
        <translation>未知操作“{id}”。</translation>
    </message>
    <message>
        <source>&apos;{keys}&apos; is not a valid shortcut for {action}.</source>
        <translation>“{keys}”不是“{action}”的有效快捷键。</translation>
    </message>
    <message>
        <source> and </source>
        <translation>与</translation>
    </message>
    <message>
        <source>The shortcut {keys} would be used by both {names}.</source>
        <translation>快捷键 {keys} 将同时被{names}使用。</translation>
    </message>
    <message>
        <source>Next image not done</source>
        <translation>下一张未完成的图像</translation>
    </message>
    <message>
        <source>Mark image done</source>
        <translation>标记图像为已完成</translation>
    </message>
    <message>
        <source>Filter images by file name</source>
        <translation>按文件名筛选图像</translation>
    </message>
    <message>
        <source>Add label class…</source>
        <translation>添加标签类别…</translation>
    </message>
    <message>
        <source>Filter label classes</source>
        <translation>筛选标签类别</translation>
    </message>
    <message>
        <source>Copy annotation (all when none is selected)</source>
        <translation>复制标注（未选中时复制全部）</translation>
    </message>
    <message>
        <source>Paste annotations on this image</source>
        <translation>将标注粘贴到此图像</translation>
    </message>
    <message>
        <source>Copy the previous image&apos;s annotations here</source>
        <translation>将上一张图像的标注复制到此处</translation>
    </message>
    <message>
        <source>Duplicate annotation</source>
        <translation>复制一份标注</translation>
    </message>
    <message>
        <source>Menu of the selected annotation</source>
        <translation>所选标注的菜单</translation>
    </message>
    <message>
        <source>Hide / show all masks</source>
        <translation>隐藏 / 显示全部掩码</translation>
    </message>
    <message>
        <source>Masks as outlines only</source>
        <translation>掩码仅显示轮廓</translation>
    </message>
    <message>
        <source>More mask opacity</source>
        <translation>提高掩码不透明度</translation>
    </message>
    <message>
        <source>Less mask opacity</source>
        <translation>降低掩码不透明度</translation>
    </message>
    <message>
        <source>Brightness, contrast and mask display…</source>
        <translation>亮度、对比度与掩码显示…</translation>
    </message>
    <message>
        <source>Reset brightness, contrast and gamma</source>
        <translation>重置亮度、对比度和伽马</translation>
    </message>
</context>
<context>
    <name>AnnotationActions</name>
    <message>
        <source>Open an image first.</source>
        <translation>请先打开一张图像。</translation>
    </message>
    <message>
        <source>The project is open read-only.</source>
        <translation>项目以只读方式打开。</translation>
    </message>
    <message>
        <source>Nothing to copy: this image has no annotations.</source>
        <translation>没有可复制的内容：此图像没有标注。</translation>
    </message>
    <message>
        <source>Copied {n} annotation(s); paste them on any image with {key}.</source>
        <translation>已复制 {n} 个标注；可用 {key} 粘贴到任意图像。</translation>
    </message>
    <message>
        <source>The annotation clipboard is empty: select one and press Ctrl+C.</source>
        <translation>标注剪贴板为空：请选中一个标注并按 Ctrl+C。</translation>
    </message>
    <message>
        <source>Paste annotations</source>
        <translation>粘贴标注</translation>
    </message>
    <message>
        <source>There is no previous image.</source>
        <translation>没有上一张图像。</translation>
    </message>
    <message>
        <source>The previous image has no annotations.</source>
        <translation>上一张图像没有标注。</translation>
    </message>
    <message>
        <source>Copy annotations of the previous image</source>
        <translation>复制上一张图像的标注</translation>
    </message>
    <message>
        <source>Copied {n} annotation(s) from the previous image.</source>
        <translation>已从上一张图像复制 {n} 个标注。</translation>
    </message>
    <message>
        <source>Select an annotation to duplicate.</source>
        <translation>请选择要复制的标注。</translation>
    </message>
    <message>
        <source>Duplicate annotation</source>
        <translation>复制一份标注</translation>
    </message>
    <message>
        <source>Image marked done.</source>
        <translation>图像已标记为完成。</translation>
    </message>
    <message>
        <source>Every image is done.</source>
        <translation>所有图像均已完成。</translation>
    </message>
    <message>
        <source>The next image not done is hidden by the image list filter.</source>
        <translation>下一张未完成的图像被图像列表筛选隐藏了。</translation>
    </message>
</context>
<context>
    <name>AnnotationDetailsDialog</name>
    <message>
        <source>Annotation #{id}</source>
        <translation>标注 #{id}</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Group id</source>
        <translation>分组 ID</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>描述</translation>
    </message>
    <message>
        <source>New flag name</source>
        <translation>新标志名称</translation>
    </message>
    <message>
        <source>Add flag</source>
        <translation>添加标志</translation>
    </message>
    <message>
        <source>Flags</source>
        <translation>标志</translation>
    </message>
    <message>
        <source>Other flags</source>
        <translation>其他标志</translation>
    </message>
    <message>
        <source>Other attributes (JSON values)</source>
        <translation>其他属性（JSON 值）</translation>
    </message>
    <message>
        <source>A JSON value (text in double quotes)</source>
        <translation>一个 JSON 值（文本请放在双引号中）</translation>
    </message>
    <message>
        <source>Flags and attributes of the label class</source>
        <translation>标签类别的标志与属性</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>“{name}” is not a JSON value (write text in double quotes).</source>
        <translation>“{name}”不是 JSON 值（文本请写在双引号中）。</translation>
    </message>
</context>
<context>
    <name>AnnotationMenu</name>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Edit vertices</source>
        <translation>编辑顶点</translation>
    </message>
    <message>
        <source>Details (group, description, flags, attributes)…</source>
        <translation>详情（分组、描述、标志、属性）…</translation>
    </message>
    <message>
        <source>Hide</source>
        <translation>隐藏</translation>
    </message>
    <message>
        <source>Bring to front</source>
        <translation>置于顶层</translation>
    </message>
    <message>
        <source>Send to back</source>
        <translation>置于底层</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>The project is open read-only.</source>
        <translation>项目以只读方式打开。</translation>
    </message>
    <message>
        <source>Select an annotation first (edit tool E, or the list).</source>
        <translation>请先选择一个标注（编辑工具 E，或在列表中选择）。</translation>
    </message>
</context>
<context>
    <name>AnnotationsDock</name>
    <message>
        <source>SAM</source>
        <translation>SAM</translation>
    </message>
    <message>
        <source>manual</source>
        <translation>手动</translation>
    </message>
    <message>
        <source>imported</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>Annotations</source>
        <translation>标注</translation>
    </message>
    <message>
        <source>▲ Raise</source>
        <translation>▲ 上移</translation>
    </message>
    <message>
        <source>▼ Lower</source>
        <translation>▼ 下移</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>label {id}</source>
        <translation>标签 {id}</translation>
    </message>
    <message>
        <source>1 part</source>
        <translation>1 个部分</translation>
    </message>
    <message>
        <source>{n} parts</source>
        <translation>{n} 个部分</translation>
    </message>
    <message>
        <source>, {n} hole(s)</source>
        <translation>，{n} 个孔洞</translation>
    </message>
    <message>
        <source> (hidden with its label class)</source>
        <translation>（随其标签类别隐藏）</translation>
    </message>
</context>
<context>
    <name>AttributeFeatures</name>
    <message>
        <source>The project is open read-only.</source>
        <translation>项目以只读方式打开。</translation>
    </message>
    <message>
        <source>Choose a label class first (keys 1–9).</source>
        <translation>请先选择一个标签类别（按键 1–9）。</translation>
    </message>
    <message>
        <source>Open an image first.</source>
        <translation>请先打开一张图像。</translation>
    </message>
    <message>
        <source>Open this image</source>
        <translation>打开此图像</translation>
    </message>
    <message>
        <source>Image flags…</source>
        <translation>图像标志…</translation>
    </message>
</context>
<context>
    <name>AttributeSchemaDialog</name>
    <message>
        <source>flag (yes/no)</source>
        <translation>标志（是/否）</translation>
    </message>
    <message>
        <source>text</source>
        <translation>文本</translation>
    </message>
    <message>
        <source>number</source>
        <translation>数字</translation>
    </message>
    <message>
        <source>choice</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>Flags and attributes of “{name}”</source>
        <translation>“{name}”的标志与属性</translation>
    </message>
    <message>
        <source>Annotations of this class carry these values; new ones start with the defaults. Flags are exported as LabelMe shape flags, the others as attributes (X-AnyLabeling, COCO).</source>
        <translation>此类别的标注带有这些值；新标注以默认值开始。标志导出为 LabelMe 形状的 flags，其余导出为 attributes（X-AnyLabeling、COCO）。</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Default</source>
        <translation>默认值</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>The choices of a choice, separated by commas</source>
        <translation>“选项”类型的可选值，以逗号分隔</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <source>e.g. red, green, blue</source>
        <translation>例如 red, green, blue</translation>
    </message>
    <message>
        <source>on</source>
        <translation>开</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>attribute {n}</source>
        <translation>属性 {n}</translation>
    </message>
</context>
<context>
    <name>BackgroundJob</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
</context>
<context>
    <name>BatchDialog</name>
    <message>
        <source>Open a writable project first.</source>
        <translation>请先打开一个可写的项目。</translation>
    </message>
    <message>
        <source>Segment everything</source>
        <translation>分割一切</translation>
    </message>
    <message>
        <source>Boxes to masks</source>
        <translation>框转掩码</translation>
    </message>
    <message>
        <source>Text prompt (Grounded-SAM)</source>
        <translation>文本提示（Grounded-SAM）</translation>
    </message>
    <message>
        <source>Points per side</source>
        <translation>每边点数</translation>
    </message>
    <message>
        <source>a grid of N x N point prompts over the image (more finds smaller objects, slower)</source>
        <translation>在图像上放置 N x N 个点提示的网格（越多越能找到小物体，但更慢）</translation>
    </message>
    <message>
        <source>Predicted IoU threshold</source>
        <translation>预测 IoU 阈值</translation>
    </message>
    <message>
        <source>keep masks whose predicted IoU is above this (0 keeps all)</source>
        <translation>保留预测 IoU 高于此值的掩码（0 表示全部保留）</translation>
    </message>
    <message>
        <source>Stability threshold</source>
        <translation>稳定性阈值</translation>
    </message>
    <message>
        <source>keep masks whose stability score is at least this (0 keeps all)</source>
        <translation>保留稳定性得分不低于此值的掩码（0 表示全部保留）</translation>
    </message>
    <message>
        <source>Overlap (NMS) threshold</source>
        <translation>重叠（NMS）阈值</translation>
    </message>
    <message>
        <source>drop a mask whose box overlaps a better one by more than this IoU</source>
        <translation>若掩码的框与更好的掩码重叠超过此 IoU，则丢弃该掩码</translation>
    </message>
    <message>
        <source>Crop layers</source>
        <translation>裁剪层数</translation>
    </message>
    <message>
        <source>also run on 2x2, 4x4... overlapping crops (finds small objects; each layer costs more encodes)</source>
        <translation>同时在 2x2、4x4… 的重叠裁剪上运行（能找到小物体；每层需要更多编码）</translation>
    </message>
    <message>
        <source>Minimum region area</source>
        <translation>最小区域面积</translation>
    </message>
    <message>
        <source>remove holes and islands smaller than this many pixels (0 keeps them)</source>
        <translation>移除小于此像素数的孔洞和孤岛（0 表示保留）</translation>
    </message>
    <message>
        <source>Best of three candidates</source>
        <translation>三个候选中取最佳</translation>
    </message>
    <message>
        <source>take the best of SAM&apos;s three candidates instead of its single answer for a box</source>
        <translation>对每个框取 SAM 三个候选中最好的一个，而不是其单一输出</translation>
    </message>
    <message>
        <source>Text prompt</source>
        <translation>文本提示</translation>
    </message>
    <message>
        <source>phrases separated by &quot;.&quot; (&quot;cat. dog. traffic light&quot;)</source>
        <translation>用“.”分隔的短语（&quot;cat. dog. traffic light&quot;）</translation>
    </message>
    <message>
        <source>Box threshold</source>
        <translation>框阈值</translation>
    </message>
    <message>
        <source>keep boxes whose detector score is above this (Grounding DINO&apos;s default 0.35)</source>
        <translation>保留检测器得分高于此值的框（Grounding DINO 默认 0.35）</translation>
    </message>
    <message>
        <source>Text threshold</source>
        <translation>文本阈值</translation>
    </message>
    <message>
        <source>keep boxes whose phrase score is above this (Grounding DINO&apos;s default 0.25)</source>
        <translation>保留短语得分高于此值的框（Grounding DINO 默认 0.25）</translation>
    </message>
    <message>
        <source>Detector</source>
        <translation>检测器</translation>
    </message>
    <message>
        <source>detector model id (sam-labeler models list) or a save_pretrained folder</source>
        <translation>检测器模型 ID（见 sam-labeler models list）或 save_pretrained 文件夹</translation>
    </message>
    <message>
        <source>{s} s</source>
        <translation>{s} 秒</translation>
    </message>
    <message>
        <source>{m} min {s} s</source>
        <translation>{m} 分 {s} 秒</translation>
    </message>
    <message>
        <source>{h} h {m} min</source>
        <translation>{h} 小时 {m} 分</translation>
    </message>
    <message>
        <source>Auto-label images</source>
        <translation>自动标注图像</translation>
    </message>
    <message>
        <source>Automation</source>
        <translation>自动化方式</translation>
    </message>
    <message>
        <source>Whole project</source>
        <translation>整个项目</translation>
    </message>
    <message>
        <source>Selected images ({n})</source>
        <translation>选中的图像（{n}）</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>all (or a pattern such as *.jpg)</source>
        <translation>全部（或如 *.jpg 的匹配模式）</translation>
    </message>
    <message>
        <source>Only files matching</source>
        <translation>仅匹配的文件</translation>
    </message>
    <message>
        <source>Label for proposals without one</source>
        <translation>无标签提议使用的标签</translation>
    </message>
    <message>
        <source>Only proposals scoring at least</source>
        <translation>仅保留得分不低于此值的提议</translation>
    </message>
    <message>
        <source>Label again the images this automation already labelled</source>
        <translation>重新标注此自动化方式已标注过的图像</translation>
    </message>
    <message>
        <source>Model: {model} on {device}</source>
        <translation>模型：{model}（{device}）</translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation>就绪。</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>No automation can label images.</source>
        <translation>没有可以标注图像的自动化方式。</translation>
    </message>
    <message>
        <source>Cannot start: {reason}</source>
        <translation>无法开始：{reason}</translation>
    </message>
    <message>
        <source>Nothing to do: the {n} chosen images are already labelled with these settings.</source>
        <translation>无需处理：所选的 {n} 张图像已用这些设置标注过。</translation>
    </message>
    <message>
        <source>No image matches this choice.</source>
        <translation>没有符合此选择的图像。</translation>
    </message>
    <message>
        <source> · {n} worker processes (one image each)</source>
        <translation> · {n} 个工作进程（各处理一张图像）</translation>
    </message>
    <message>
        <source>Labelling with {n} worker processes…</source>
        <translation>正在用 {n} 个工作进程标注…</translation>
    </message>
    <message>
        <source>Labelling…</source>
        <translation>正在标注…</translation>
    </message>
    <message>
        <source>Loading {model} in {n} worker processes…</source>
        <translation>正在 {n} 个工作进程中加载 {model}…</translation>
    </message>
    <message>
        <source>Loading {model}…</source>
        <translation>正在加载 {model}…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Labelled {done} of {total} images, {stored} annotations</source>
        <translation>已标注 {done}/{total} 张图像，{stored} 个标注</translation>
    </message>
    <message>
        <source>, {n} failed</source>
        <translation>，{n} 张失败</translation>
    </message>
    <message>
        <source> · about {eta} left</source>
        <translation> · 约剩 {eta}</translation>
    </message>
    <message>
        <source>Cancelled after {done} of {total} images.</source>
        <translation>已在 {done}/{total} 张图像后取消。</translation>
    </message>
    <message>
        <source>Labelled {done} of {total} images.</source>
        <translation>已标注 {done}/{total} 张图像。</translation>
    </message>
    <message>
        <source>{n} annotations stored in {time}; the images are marked to review.</source>
        <translation>用时 {time} 存储了 {n} 个标注；这些图像已标记为待审核。</translation>
    </message>
    <message>
        <source>{n} image(s) failed: {first}</source>
        <translation>{n} 张图像失败：{first}</translation>
    </message>
    <message>
        <source>Auto-labelling failed: {reason}</source>
        <translation>自动标注失败：{reason}</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
</context>
<context>
    <name>CandidateStrip</name>
    <message>
        <source>Candidates
Tab / Shift+Tab</source>
        <translation>候选
Tab / Shift+Tab</translation>
    </message>
    <message>
        <source>Candidate {n}</source>
        <translation>候选 {n}</translation>
    </message>
    <message>
        <source>IoU {score}</source>
        <translation>交并比 {score}</translation>
    </message>
</context>
<context>
    <name>CheatSheet</name>
    <message>
        <source>Navigation</source>
        <translation>浏览</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>工具</translation>
    </message>
    <message>
        <source>Candidates</source>
        <translation>候选</translation>
    </message>
    <message>
        <source>Labels</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>View</source>
        <translation>视图</translation>
    </message>
    <message>
        <source>Model and settings</source>
        <translation>模型与设置</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>帮助</translation>
    </message>
    <message>
        <source>Mouse</source>
        <translation>鼠标</translation>
    </message>
    <message>
        <source>Left click (point tool S)</source>
        <translation>左键单击（点工具 S）</translation>
    </message>
    <message>
        <source>foreground point</source>
        <translation>前景点</translation>
    </message>
    <message>
        <source>Right click (point tool S)</source>
        <translation>右键单击（点工具 S）</translation>
    </message>
    <message>
        <source>background point</source>
        <translation>背景点</translation>
    </message>
    <message>
        <source>Drag (box tool B)</source>
        <translation>拖动（框工具 B）</translation>
    </message>
    <message>
        <source>box prompt</source>
        <translation>框提示</translation>
    </message>
    <message>
        <source>Left / right drag (scribble tool R)</source>
        <translation>左键 / 右键拖动（涂鸦工具 R）</translation>
    </message>
    <message>
        <source>foreground / background stroke</source>
        <translation>前景 / 背景笔画</translation>
    </message>
    <message>
        <source>Space tap</source>
        <translation>轻按空格</translation>
    </message>
    <message>
        <source>accept the current candidate</source>
        <translation>接受当前候选</translation>
    </message>
    <message>
        <source>Space + drag, middle drag</source>
        <translation>空格 + 拖动，或中键拖动</translation>
    </message>
    <message>
        <source>pan</source>
        <translation>平移</translation>
    </message>
    <message>
        <source>Mouse wheel</source>
        <translation>鼠标滚轮</translation>
    </message>
    <message>
        <source>zoom around the cursor</source>
        <translation>以光标为中心缩放</translation>
    </message>
    <message>
        <source>Click a shape (edit tool E)</source>
        <translation>单击形状（编辑工具 E）</translation>
    </message>
    <message>
        <source>select it; new prompts then refine it</source>
        <translation>选中它；之后的新提示会细化它</translation>
    </message>
    <message>
        <source>Right click a shape (edit tool E)</source>
        <translation>右键单击形状（编辑工具 E）</translation>
    </message>
    <message>
        <source>its menu: label, vertices, details, order, delete</source>
        <translation>它的菜单：标签、顶点、详情、顺序、删除</translation>
    </message>
    <message>
        <source>Drop a folder, image or .samlabel on the window</source>
        <translation>将文件夹、图像或 .samlabel 文件拖放到窗口上</translation>
    </message>
    <message>
        <source>open it</source>
        <translation>打开它</translation>
    </message>
    <message>
        <source>Hover an image in the images list</source>
        <translation>鼠标悬停在图像列表中的图像上</translation>
    </message>
    <message>
        <source>its thumbnail, size, status and annotation count</source>
        <translation>显示缩略图、尺寸、状态和标注数量</translation>
    </message>
    <message>
        <source>Copy images into the project folder</source>
        <translation>将图像复制到项目文件夹</translation>
    </message>
    <message>
        <source>they appear in the list (Settings: watch the image folder)</source>
        <translation>它们会出现在列表中（设置：监视图像文件夹）</translation>
    </message>
</context>
<context>
    <name>CheatSheetDialog</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
</context>
<context>
    <name>DensityControl</name>
    <message>
        <source>Polygon density</source>
        <translation>多边形密度</translation>
    </message>
    <message>
        <source> px</source>
        <translation> 像素</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>How closely the stored polygons follow the mask: Auto keeps 98% overlap with few vertices, 0 px is the exact pixel outline, larger values give fewer vertices. The mask itself is kept exact.</source>
        <translation>保存的多边形贴合掩码的程度：“自动”以较少顶点保持 98% 重叠，0 像素为精确的像素轮廓，数值越大顶点越少。掩码本身始终精确保存。</translation>
    </message>
    <message>
        <source>computing…</source>
        <translation>计算中…</translation>
    </message>
    <message>
        <source>{n} vertices</source>
        <translation>{n} 个顶点</translation>
    </message>
</context>
<context>
    <name>DisplayDock</name>
    <message>
        <source>Display</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Masks</source>
        <translation>掩码</translation>
    </message>
    <message>
        <source>Fill opacity of the annotation masks</source>
        <translation>标注掩码的填充不透明度</translation>
    </message>
    <message>
        <source>Opacity</source>
        <translation>不透明度</translation>
    </message>
    <message>
        <source>Outline only</source>
        <translation>仅轮廓</translation>
    </message>
    <message>
        <source>Show masks</source>
        <translation>显示掩码</translation>
    </message>
    <message>
        <source>Image (display only)</source>
        <translation>图像（仅影响显示）</translation>
    </message>
    <message>
        <source>Brightness</source>
        <translation>亮度</translation>
    </message>
    <message>
        <source>Contrast</source>
        <translation>对比度</translation>
    </message>
    <message>
        <source>Gamma</source>
        <translation>伽马</translation>
    </message>
    <message>
        <source>Reset image</source>
        <translation>重置图像</translation>
    </message>
</context>
<context>
    <name>EverythingController</name>
    <message>
        <source>Open an image first.</source>
        <translation>请先打开一张图像。</translation>
    </message>
    <message>
        <source>No SAM model is loaded: open the model manager (Ctrl+M).</source>
        <translation>未加载 SAM 模型：请打开模型管理器（Ctrl+M）。</translation>
    </message>
    <message>
        <source>The automation &quot;{id}&quot; is not installed.</source>
        <translation>未安装自动化“{id}”。</translation>
    </message>
    <message>
        <source>Segmenting everything</source>
        <translation>正在分割全部</translation>
    </message>
    <message>
        <source>Segmenting everything… (Esc cancels)</source>
        <translation>正在分割全部…（按 Esc 取消）</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <source>{shown} of {total} proposal(s) shown ({seconds:.1f} s). Click one on the image to check or uncheck it.</source>
        <translation>显示 {shown} / {total} 个候选（{seconds:.1f} 秒）。在图像上点击候选可勾选或取消勾选。</translation>
    </message>
    <message>
        <source>Press G to segment everything in this image.</source>
        <translation>按 G 分割此图像中的全部物体。</translation>
    </message>
    <message>
        <source>This project is open read-only; proposals cannot be stored.</source>
        <translation>此项目以只读方式打开；无法保存候选标注。</translation>
    </message>
    <message>
        <source>No proposal is checked.</source>
        <translation>没有勾选任何候选。</translation>
    </message>
    <message>
        <source>Storing {n} annotation(s)…</source>
        <translation>正在保存 {n} 个标注…</translation>
    </message>
    <message>
        <source>The accepted proposals have empty masks; nothing was stored.</source>
        <translation>接受的候选掩码为空；未保存任何内容。</translation>
    </message>
    <message>
        <source>Stored {n} annotation(s) (one undo step).</source>
        <translation>已保存 {n} 个标注（一次撤销）。</translation>
    </message>
    <message>
        <source>Image marked reviewed.</source>
        <translation>图像已标记为已审核。</translation>
    </message>
</context>
<context>
    <name>EverythingDock</name>
    <message>
        <source>Segment everything</source>
        <translation>分割全部</translation>
    </message>
    <message>
        <source>Propose a mask for every object of the image (key G)</source>
        <translation>为图像中的每个物体生成候选掩码（快捷键 G）</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop the run (Esc)</source>
        <translation>停止运行（Esc）</translation>
    </message>
    <message>
        <source>Press G to segment everything in this image.</source>
        <translation>按 G 分割此图像中的全部物体。</translation>
    </message>
    <message>
        <source>A grid of N x N point prompts: more finds smaller objects and takes longer</source>
        <translation>N x N 的点提示网格：越多越能找到小物体，但耗时更长</translation>
    </message>
    <message>
        <source>Points per side</source>
        <translation>每边点数</translation>
    </message>
    <message>
        <source>Hide proposals smaller than this many pixels</source>
        <translation>隐藏像素数小于此值的候选</translation>
    </message>
    <message>
        <source>Hide proposals whose predicted IoU is below this</source>
        <translation>隐藏预测 IoU 低于此值的候选</translation>
    </message>
    <message>
        <source>Hide proposals whose stability score is below this</source>
        <translation>隐藏稳定性分数低于此值的候选</translation>
    </message>
    <message>
        <source>Minimum area</source>
        <translation>最小面积</translation>
    </message>
    <message>
        <source>Predicted IoU</source>
        <translation>预测 IoU</translation>
    </message>
    <message>
        <source>Stability</source>
        <translation>稳定性</translation>
    </message>
    <message>
        <source>Hide proposals overlapping annotations</source>
        <translation>隐藏与已有标注重叠的候选</translation>
    </message>
    <message>
        <source>Hide a proposal whose IoU with an annotation, or whose share lying inside it, reaches the threshold</source>
        <translation>当候选与某个标注的 IoU，或其位于该标注内的比例达到阈值时隐藏该候选</translation>
    </message>
    <message>
        <source>Overlap</source>
        <translation>重叠</translation>
    </message>
    <message>
        <source>The label class the accepted proposals get</source>
        <translation>接受的候选所使用的标签类别</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Check all</source>
        <translation>全部勾选</translation>
    </message>
    <message>
        <source>Check none</source>
        <translation>全部取消勾选</translation>
    </message>
    <message>
        <source>Mark reviewed</source>
        <translation>标记为已审核</translation>
    </message>
    <message>
        <source>Clear this image&apos;s &quot;to review&quot; mark</source>
        <translation>清除此图像的“待审核”标记</translation>
    </message>
    <message>
        <source>Accept checked</source>
        <translation>接受已勾选</translation>
    </message>
    <message>
        <source>Accept all</source>
        <translation>全部接受</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Current label ({name})</source>
        <translation>当前标签（{name}）</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>auto — polygons, exact masks where polygons would lose detail</source>
        <translation>自动 — 多边形，多边形会丢失细节处用精确掩码</translation>
    </message>
    <message>
        <source>polygons only (holes filled)</source>
        <translation>仅多边形（孔洞填充）</translation>
    </message>
    <message>
        <source>polygons as drawn (the polygon density you chose)</source>
        <translation>按绘制的多边形（您选择的多边形密度）</translation>
    </message>
    <message>
        <source>exact masks (RLE)</source>
        <translation>精确掩码（RLE）</translation>
    </message>
    <message>
        <source>exact masks (mask shapes)</source>
        <translation>精确掩码（mask 形状）</translation>
    </message>
    <message>
        <source>skip files imported before (default)</source>
        <translation>跳过之前导入过的文件（默认）</translation>
    </message>
    <message>
        <source>replace what they brought before</source>
        <translation>替换它们之前带入的标注</translation>
    </message>
    <message>
        <source>import them again as well</source>
        <translation>再次导入</translation>
    </message>
    <message>
        <source>Export annotations</source>
        <translation>导出标注</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Destination</source>
        <translation>目标位置</translation>
    </message>
    <message>
        <source>Masks</source>
        <translation>掩码</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Choose a destination first.</source>
        <translation>请先选择目标位置。</translation>
    </message>
</context>
<context>
    <name>FolderWatch</name>
    <message>
        <source>Watching the image folder failed: {reason}</source>
        <translation>监视图像文件夹失败：{reason}</translation>
    </message>
    <message>
        <source>The image folder is back: {path}</source>
        <translation>图像文件夹已恢复：{path}</translation>
    </message>
    <message>
        <source>The image folder {path} is gone (moved or deleted?); its images stay in the project, new ones will appear when it is back.</source>
        <translation>图像文件夹 {path} 不见了（被移动或删除？）；其图像仍保留在项目中，文件夹恢复后新图像会出现。</translation>
    </message>
    <message>
        <source>{count} new images</source>
        <translation>{count} 张新图像</translation>
    </message>
    <message>
        <source>{count} images missing (their annotations are kept)</source>
        <translation>{count} 张图像缺失（其标注已保留）</translation>
    </message>
    <message>
        <source>{count} missing images are back</source>
        <translation>{count} 张缺失的图像已恢复</translation>
    </message>
</context>
<context>
    <name>ImageFlagsDialog</name>
    <message>
        <source>Image flags</source>
        <translation>图像标志</translation>
    </message>
    <message>
        <source>Flags of the whole image (LabelMe “flags”). A new name is offered for every image of the project.</source>
        <translation>整张图像的标志（LabelMe 的“flags”）。新添加的名称会提供给项目中的每张图像。</translation>
    </message>
    <message>
        <source>New flag name</source>
        <translation>新标志名称</translation>
    </message>
    <message>
        <source>Add flag</source>
        <translation>添加标志</translation>
    </message>
</context>
<context>
    <name>ImagesDock</name>
    <message>
        <source>new</source>
        <translation>未开始</translation>
    </message>
    <message>
        <source>in progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>  (missing)</source>
        <translation>  （缺失）</translation>
    </message>
    <message>
        <source>  (to review)</source>
        <translation>  （待审核）</translation>
    </message>
    <message>
        <source>size not read yet</source>
        <translation>尚未读取尺寸</translation>
    </message>
    <message>
        <source>{path}
{size}
status: {status}</source>
        <translation>{path}
{size}
状态：{status}</translation>
    </message>
    <message>
        <source>auto-labeled: to review</source>
        <translation>已自动标注：待审核</translation>
    </message>
    <message>
        <source>no preview: {reason}</source>
        <translation>无预览：{reason}</translation>
    </message>
    <message>
        <source>preview…</source>
        <translation>正在生成预览…</translation>
    </message>
    <message>
        <source>annotations: {count}</source>
        <translation>标注：{count}</translation>
    </message>
    <message>
        <source>All images</source>
        <translation>全部图像</translation>
    </message>
    <message>
        <source>New</source>
        <translation>未开始</translation>
    </message>
    <message>
        <source>In progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>To review (auto-labeled)</source>
        <translation>待审核（已自动标注）</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>no project</source>
        <translation>未打开项目</translation>
    </message>
    <message>
        <source>{count} images · </source>
        <translation>{count} 张图像 · </translation>
    </message>
    <message>
        <source>Filter by file name…</source>
        <translation>按文件名筛选…</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <source>Import annotations</source>
        <translation>导入标注</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Images folder</source>
        <translation>图像文件夹</translation>
    </message>
    <message>
        <source>Files imported before</source>
        <translation>之前导入过的文件</translation>
    </message>
    <message>
        <source>Imported annotations are added to the project at once (this is not undoable); images they refer to must be in the project folder.</source>
        <translation>导入的标注会立即加入项目（无法撤销）；它们引用的图像必须位于项目文件夹中。</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
</context>
<context>
    <name>InferenceService</name>
    <message>
        <source>Loading {model}…</source>
        <translation>正在加载 {model}…</translation>
    </message>
    <message>
        <source>{model} on {device}</source>
        <translation>{model}（{device}）</translation>
    </message>
    <message>
        <source>A mask input must be square low-res logits, not {shape}.</source>
        <translation>掩码输入必须是方形的低分辨率 logits，而不是 {shape}。</translation>
    </message>
    <message>
        <source>No model is loaded; choose one in the model manager before encoding images.</source>
        <translation>未加载模型；请先在模型管理器中选择一个模型，再编码图像。</translation>
    </message>
</context>
<context>
    <name>InferenceWorker</name>
    <message>
        <source>Encoding images</source>
        <translation>正在编码图像</translation>
    </message>
    <message>
        <source>Encoding cancelled</source>
        <translation>编码已取消</translation>
    </message>
    <message>
        <source>No model is loaded; choose one in the model manager.</source>
        <translation>未加载模型；请在模型管理器中选择一个模型。</translation>
    </message>
    <message>
        <source>No SAM model is loaded; choose one in the model manager.</source>
        <translation>未加载 SAM 模型；请在模型管理器中选择一个。</translation>
    </message>
    <message>
        <source>Loading {model}</source>
        <translation>正在加载 {model}</translation>
    </message>
    <message>
        <source>Loading {model} was cancelled.</source>
        <translation>已取消加载 {model}。</translation>
    </message>
    <message>
        <source>The model now runs on the CPU: {reason}.</source>
        <translation>模型现在在 CPU 上运行：{reason}。</translation>
    </message>
    <message>
        <source>{model} ({mode}) on {device}</source>
        <translation>{model}（{mode}）运行于 {device}</translation>
    </message>
    <message>
        <source>{model} on {device}</source>
        <translation>{model}（{device}）</translation>
    </message>
    <message>
        <source>Image {key} was never opened; it cannot be segmented.</source>
        <translation>图像 {key} 从未打开，无法分割。</translation>
    </message>
</context>
<context>
    <name>LabelingController</name>
    <message>
        <source>This is the last image.</source>
        <translation>这是最后一张图像。</translation>
    </message>
    <message>
        <source>This is the first image.</source>
        <translation>这是第一张图像。</translation>
    </message>
    <message>
        <source>Cannot show this image: {reason} Press D for the next one.</source>
        <translation>无法显示此图像：{reason} 按 D 查看下一张。</translation>
    </message>
    <message>
        <source>Select an annotation to delete (click it with the edit tool E).</source>
        <translation>请选择要删除的标注（用编辑工具 E 单击它）。</translation>
    </message>
    <message>
        <source>There is no label class {n}; add one in the Labels panel.</source>
        <translation>没有标签类别 {n}；请在“标签”面板中添加。</translation>
    </message>
    <message>
        <source>No SAM model is loaded: use the polygon tool (P) or open the model manager.</source>
        <translation>未加载 SAM 模型：请使用多边形工具（P）或打开模型管理器。</translation>
    </message>
    <message>
        <source>Nothing to accept: click on an object first.</source>
        <translation>没有可接受的内容：请先单击一个物体。</translation>
    </message>
    <message>
        <source>The candidate mask is empty; add prompts or pick another candidate.</source>
        <translation>候选掩码为空；请添加提示或选择其他候选。</translation>
    </message>
    <message>
        <source>The mask could not be converted to polygons: {reason}</source>
        <translation>无法将掩码转换为多边形：{reason}</translation>
    </message>
</context>
<context>
    <name>LabelsDock</name>
    <message>
        <source>Labels</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Add a label class</source>
        <translation>添加标签类别</translation>
    </message>
    <message>
        <source>Rename the label class</source>
        <translation>重命名标签类别</translation>
    </message>
    <message>
        <source>Change the colour</source>
        <translation>更改颜色</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <source>Delete the label class</source>
        <translation>删除标签类别</translation>
    </message>
    <message>
        <source> — key {n}</source>
        <translation> — 按键 {n}</translation>
    </message>
    <message>
        <source>Add label class</source>
        <translation>添加标签类别</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <source>Rename label class</source>
        <translation>重命名标签类别</translation>
    </message>
    <message>
        <source>Colour of {name}</source>
        <translation>{name} 的颜色</translation>
    </message>
    <message>
        <source>Delete label class</source>
        <translation>删除标签类别</translation>
    </message>
    <message>
        <source>Filter labels…</source>
        <translation>筛选标签…</translation>
    </message>
    <message>
        <source>Checkbox: shown · counts: this image · project</source>
        <translation>复选框：显示 · 数量：本图像 · 整个项目</translation>
    </message>
    <message>
        <source>{name} ({color}): {image} on this image, {project} in the project</source>
        <translation>{name}（{color}）：本图像 {image} 个，整个项目 {project} 个</translation>
    </message>
    <message>
        <source>No label classes yet: click + below or press {key} to add one (the first accepted object otherwise gets the label “object”). Keys 1–9 choose a class.</source>
        <translation>还没有标签类别：点击下方的 + 或按 {key} 添加（否则第一个接受的对象会得到标签“object”）。按 1–9 选择类别。</translation>
    </message>
    <message>
        <source>Delete the label class “{name}”? No annotation uses it.</source>
        <translation>删除标签类别“{name}”？没有标注使用它。</translation>
    </message>
    <message>
        <source>Delete the label class “{name}” and its {n} annotation(s) in this project? You can undo this with Ctrl+Z.</source>
        <translation>删除标签类别“{name}”及其在本项目中的 {n} 个标注？可以用 Ctrl+Z 撤销。</translation>
    </message>
    <message>
        <source>Use this label</source>
        <translation>使用此标签</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Colour…</source>
        <translation>颜色…</translation>
    </message>
    <message>
        <source>Flags and attributes…</source>
        <translation>标志与属性…</translation>
    </message>
    <message>
        <source>Hide its annotations</source>
        <translation>隐藏其标注</translation>
    </message>
    <message>
        <source>Show its annotations</source>
        <translation>显示其标注</translation>
    </message>
    <message>
        <source>Show only this label</source>
        <translation>只显示此标签</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Mark image done</source>
        <translation>将图像标记为已完成</translation>
    </message>
    <message>
        <source>Mark image not done</source>
        <translation>将图像标记为未完成</translation>
    </message>
    <message>
        <source>{reason}

Open it read-only?</source>
        <translation>{reason}

以只读方式打开吗？</translation>
    </message>
    <message>
        <source>Project in use</source>
        <translation>项目正在使用中</translation>
    </message>
    <message>
        <source>Cannot open {path}: {reason}</source>
        <translation>无法打开 {path}：{reason}</translation>
    </message>
    <message>
        <source>read-only</source>
        <translation>只读</translation>
    </message>
    <message>
        <source>all changes saved</source>
        <translation>所有更改已保存</translation>
    </message>
    <message>
        <source>Opened {name}: {count} images.</source>
        <translation>已打开 {name}：{count} 张图像。</translation>
    </message>
    <message>
        <source> [read-only]</source>
        <translation> [只读]</translation>
    </message>
    <message>
        <source>Open image folder</source>
        <translation>打开图像文件夹</translation>
    </message>
    <message>
        <source>Open project</source>
        <translation>打开项目</translation>
    </message>
    <message>
        <source>Projects (*.samlabel)</source>
        <translation>项目 (*.samlabel)</translation>
    </message>
    <message>
        <source>All changes are saved (each accepted edit is committed at once).</source>
        <translation>所有更改均已保存（每次接受的编辑都会立即提交）。</translation>
    </message>
    <message>
        <source>Open a project first.</source>
        <translation>请先打开一个项目。</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Export now?</source>
        <translation>现在导出吗？</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
    <message>
        <source>Exported to {path}.</source>
        <translation>已导出到 {path}。</translation>
    </message>
    <message>
        <source>Export failed: {reason}</source>
        <translation>导出失败：{reason}</translation>
    </message>
    <message>
        <source>Export cancelled.</source>
        <translation>导出已取消。</translation>
    </message>
    <message>
        <source>Open a writable project first.</source>
        <translation>请先打开一个可写的项目。</translation>
    </message>
    <message>
        <source>Import failed: {reason}</source>
        <translation>导入失败：{reason}</translation>
    </message>
    <message>
        <source>Import finished.</source>
        <translation>导入完成。</translation>
    </message>
    <message>
        <source>The SAM model could not be loaded ({reason}) — manual tools work; open the model manager.</source>
        <translation>无法加载 SAM 模型（{reason}）— 手动工具仍可使用；请打开模型管理器。</translation>
    </message>
    <message>
        <source>Settings saved.</source>
        <translation>设置已保存。</translation>
    </message>
    <message>
        <source>The new language is used from the next start.</source>
        <translation>新的语言将在下次启动时生效。</translation>
    </message>
    <message>
        <source>Opening projects from the desktop follows the new choice from the next start.</source>
        <translation>从桌面打开项目的方式将在下次启动时按新设置生效。</translation>
    </message>
    <message>
        <source>About {app}</source>
        <translation>关于 {app}</translation>
    </message>
    <message>
        <source>{app} {version}
Image labeling with masks and polygons, assisted by Segment Anything.
Model: {model}</source>
        <translation>{app} {version}
借助 Segment Anything，用掩码和多边形标注图像。
模型：{model}</translation>
    </message>
    <message>
        <source>Tool: {tool}</source>
        <translation>工具：{tool}</translation>
    </message>
    <message>
        <source>Settings could not be saved: {reason}</source>
        <translation>无法保存设置：{reason}</translation>
    </message>
    <message>
        <source>Where should the project of “{folder}” be saved?</source>
        <translation>“{folder}”的项目文件保存在哪里？</translation>
    </message>
</context>
<context>
    <name>Menus</name>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Recent projects</source>
        <translation>最近的项目</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Image</source>
        <translation>图像(&amp;I)</translation>
    </message>
    <message>
        <source>&amp;Tools</source>
        <translation>工具(&amp;T)</translation>
    </message>
    <message>
        <source>Label class</source>
        <translation>标签类别</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Plugins…</source>
        <translation>插件…</translation>
    </message>
    <message>
        <source>About SAM Labeler</source>
        <translation>关于 SAM Labeler</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>&amp;Automation</source>
        <translation>自动化(&amp;A)</translation>
    </message>
</context>
<context>
    <name>ModeChoice</name>
    <message>
        <source>Exact (float32)</source>
        <translation>精确（float32）</translation>
    </message>
    <message>
        <source>Fast bfloat16</source>
        <translation>快速 bfloat16</translation>
    </message>
    <message>
        <source>Fast int8</source>
        <translation>快速 int8</translation>
    </message>
    <message>
        <source>Fast float16</source>
        <translation>快速 float16</translation>
    </message>
    <message>
        <source>Masks as the reference SAM computes them. The default.</source>
        <translation>与参考 SAM 计算的掩码一致。默认选项。</translation>
    </message>
    <message>
        <source>The encoder in bfloat16: needs a CPU with native bfloat16 (AVX512-BF16 / AMX) or a CUDA GPU. Masks differ slightly from exact along uncertain edges.</source>
        <translation>编码器使用 bfloat16：需要原生支持 bfloat16 的 CPU（AVX512-BF16 / AMX）或 CUDA GPU。掩码在不确定的边缘处与精确模式略有差异。</translation>
    </message>
    <message>
        <source>The encoder&apos;s linear layers in int8 (dynamic quantisation); any x86 or ARM CPU. Masks differ more than bfloat16&apos;s.</source>
        <translation>编码器的线性层使用 int8（动态量化）；适用于任何 x86 或 ARM CPU。掩码差异比 bfloat16 更大。</translation>
    </message>
    <message>
        <source>The encoder in float16 on a CUDA GPU.</source>
        <translation>编码器在 CUDA GPU 上使用 float16。</translation>
    </message>
    <message>
        <source>CUDA only</source>
        <translation>仅限 CUDA</translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation>仅限 CPU</translation>
    </message>
    <message>
        <source>this CPU has no native bfloat16: slower than exact here</source>
        <translation>此 CPU 不支持原生 bfloat16：在这里比精确模式更慢</translation>
    </message>
    <message>
        <source>not for this model family</source>
        <translation>不适用于此模型系列</translation>
    </message>
    <message>
        <source>CUDA only for this model family</source>
        <translation>此模型系列仅限 CUDA</translation>
    </message>
    <message>
        <source>{title} — not measured for this model</source>
        <translation>{title} — 未对此模型测量</translation>
    </message>
    <message>
        <source>{title} — {speedup}x faster, masks {iou}% IoU (worst {worst}%) with random weights</source>
        <translation>{title} — 快 {speedup} 倍，掩码 IoU {iou}%（最差 {worst}%），以随机权重测得</translation>
    </message>
    <message>
        <source>{title} — {speedup}x faster, masks {iou}% IoU (worst {worst}%)</source>
        <translation>{title} — 快 {speedup} 倍，掩码 IoU {iou}%（最差 {worst}%）</translation>
    </message>
    <message>
        <source>{text} [{reason}]</source>
        <translation>{text} [{reason}]</translation>
    </message>
    <message>
        <source>Measured on {machine} (encode time against exact; IoU of the candidate masks against exact&apos;s on photos).</source>
        <translation>测量于 {machine}（编码时间与精确模式相比；候选掩码与精确模式在照片上的 IoU）。</translation>
    </message>
    <message>
        <source>The mask agreement was measured with randomly initialised weights (no trained weights were at hand); with trained weights it may differ.</source>
        <translation>掩码一致性是用随机初始化的权重测得的（当时没有训练好的权重）；使用训练好的权重时可能不同。</translation>
    </message>
    <message>
        <source>Speed modes</source>
        <translation>速度模式</translation>
    </message>
</context>
<context>
    <name>ModelBanner</name>
    <message>
        <source>No SAM model installed — manual tools (polygon P, edit E) work; open the model manager to download or import one.</source>
        <translation>未安装 SAM 模型 — 手动工具（多边形 P、编辑 E）可以使用；请打开模型管理器下载或导入模型。</translation>
    </message>
    <message>
        <source>Open model manager</source>
        <translation>打开模型管理器</translation>
    </message>
</context>
<context>
    <name>ModelManagerDialog</name>
    <message>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>present, not verified</source>
        <translation>已存在，未校验</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>unknown ({reason})</source>
        <translation>未知（{reason}）</translation>
    </message>
    <message>
        <source> ({size} downloaded, resumable)</source>
        <translation>（已下载 {size}，可续传）</translation>
    </message>
    <message>
        <source>Model manager</source>
        <translation>模型管理器</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Id</source>
        <translation>标识</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Import file…</source>
        <translation>导入文件…</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>取消下载</translation>
    </message>
    <message>
        <source>Use this model</source>
        <translation>使用此模型</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <source>Speed mode:</source>
        <translation>速度模式：</translation>
    </message>
    <message>
        <source>Checking devices…</source>
        <translation>正在检查设备…</translation>
    </message>
    <message>
        <source>Device check</source>
        <translation>设备检查</translation>
    </message>
    <message>
        <source>Device check failed: {reason}</source>
        <translation>设备检查失败：{reason}</translation>
    </message>
    <message>
        <source>Download or import this model first.</source>
        <translation>请先下载或导入此模型。</translation>
    </message>
    <message>
        <source>Downloading {model}</source>
        <translation>正在下载 {model}</translation>
    </message>
    <message>
        <source>Downloading {model}…</source>
        <translation>正在下载 {model}…</translation>
    </message>
    <message>
        <source>Checkpoint for {model}</source>
        <translation>{model} 的权重文件</translation>
    </message>
    <message>
        <source>Checkpoints (*.pth *.pt);;All files (*)</source>
        <translation>权重文件 (*.pth *.pt);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Importing {model}</source>
        <translation>正在导入 {model}</translation>
    </message>
    <message>
        <source>Verifying and importing {file}…</source>
        <translation>正在校验并导入 {file}…</translation>
    </message>
    <message>
        <source>Another download or import is running; wait for it or cancel it.</source>
        <translation>另一个下载或导入正在进行；请等待其完成或将其取消。</translation>
    </message>
    <message>
        <source>Installed {path}.</source>
        <translation>已安装 {path}。</translation>
    </message>
    <message>
        <source>Cancelled; a later download resumes where it stopped.</source>
        <translation>已取消；之后的下载会从中断处继续。</translation>
    </message>
    <message>
        <source>{done} of {total}</source>
        <translation>{done} / {total}</translation>
    </message>
</context>
<context>
    <name>PluginsDialog</name>
    <message>
        <source>Plugins</source>
        <translation>插件</translation>
    </message>
</context>
<context>
    <name>PolygonDensity</name>
    <message>
        <source>Polygon density: Auto</source>
        <translation>多边形密度：自动</translation>
    </message>
    <message>
        <source>Polygon density: {tol} px</source>
        <translation>多边形密度：{tol} 像素</translation>
    </message>
    <message>
        <source>Open an image first.</source>
        <translation>请先打开一张图像。</translation>
    </message>
    <message>
        <source>The project is open read-only.</source>
        <translation>项目以只读方式打开。</translation>
    </message>
    <message>
        <source>Nothing to re-simplify: only annotations stored with a mask have one to recompute their polygons from.</source>
        <translation>没有可重新简化的标注：只有带掩码保存的标注才能据此重新计算多边形。</translation>
    </message>
    <message>
        <source>Re-simplifying {n} annotation(s)…</source>
        <translation>正在重新简化 {n} 个标注…</translation>
    </message>
    <message>
        <source>The polygons could not be recomputed: {reason}</source>
        <translation>无法重新计算多边形：{reason}</translation>
    </message>
    <message>
        <source>Nothing was re-simplified: the annotations changed meanwhile.</source>
        <translation>未重新简化任何标注：标注在此期间已被更改。</translation>
    </message>
    <message>
        <source>Re-simplify polygons</source>
        <translation>重新简化多边形</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Re-simplified {n} annotation(s) at {density}: {old} → {new} vertices.</source>
        <translation>已按 {density} 重新简化 {n} 个标注：{old} → {new} 个顶点。</translation>
    </message>
</context>
<context>
    <name>Propagation</name>
    <message>
        <source>Open a writable project and an image with annotations first.</source>
        <translation>请先打开一个可写项目和一张有标注的图像。</translation>
    </message>
    <message>
        <source>A propagation is already running.</source>
        <translation>已有一个传播任务在运行。</translation>
    </message>
    <message>
        <source>Propagation needs a project whose images are the frames of a sequence.</source>
        <translation>传播需要一个图像为序列帧的项目。</translation>
    </message>
    <message>
        <source>Nothing to propagate: {reason}.</source>
        <translation>没有可传播的内容：{reason}。</translation>
    </message>
    <message>
        <source>Propagating {n} object(s) with {model}…</source>
        <translation>正在用 {model} 传播 {n} 个对象…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Propagate through frames</source>
        <translation>沿帧传播</translation>
    </message>
    <message>
        <source>Loading {model}…</source>
        <translation>正在加载 {model}…</translation>
    </message>
    <message>
        <source>Propagating {n} object(s): frame {done} of {total}</source>
        <translation>正在传播 {n} 个对象：第 {done} 帧，共 {total} 帧</translation>
    </message>
    <message>
        <source>Propagation stopped: {reason}</source>
        <translation>传播已停止：{reason}</translation>
    </message>
    <message>
        <source>Propagation failed: {reason}</source>
        <translation>传播失败：{reason}</translation>
    </message>
</context>
<context>
    <name>PropagationJob</name>
    <message>
        <source>Propagation cancelled after {done} frames; their proposals are kept.</source>
        <translation>传播在 {done} 帧后取消；已生成的候选标注保留。</translation>
    </message>
    <message>
        <source>Propagated {n} object(s) over {done} frames.</source>
        <translation>已在 {done} 帧上传播 {n} 个对象。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>“{keys}” is not a key sequence Qt understands</source>
        <translation>“{keys}”不是 Qt 能识别的按键序列</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Takes effect the next time SAM Labeler starts</source>
        <translation>下次启动 SAM Labeler 时生效</translation>
    </message>
    <message>
        <source>Open projects from the desktop in the running window</source>
        <translation>从桌面打开的项目在已运行的窗口中打开</translation>
    </message>
    <message>
        <source>Off: every double-clicked project opens a new window</source>
        <translation>关闭时：每个双击打开的项目都会打开新窗口</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Images on each side of the current one that are pre-encoded while idle</source>
        <translation>空闲时在当前图像前后各预先编码的图像数</translation>
    </message>
    <message>
        <source> MB</source>
        <translation> MB</translation>
    </message>
    <message>
        <source>Keep embeddings on disk between sessions</source>
        <translation>在磁盘上保留嵌入，供下次使用</translation>
    </message>
    <message>
        <source>Prefetch neighbours</source>
        <translation>预取相邻图像</translation>
    </message>
    <message>
        <source>Embedding memory cache</source>
        <translation>嵌入内存缓存</translation>
    </message>
    <message>
        <source>Watch the image folder: new images appear in the list at once</source>
        <translation>监视图像文件夹：新图像立即出现在列表中</translation>
    </message>
    <message>
        <source>Off: images copied into the folder appear the next time the folder is opened</source>
        <translation>关闭：复制到文件夹中的图像将在下次打开该文件夹时出现</translation>
    </message>
    <message>
        <source>Shortcuts (double-click to edit; separate alternatives with “;”):</source>
        <translation>快捷键（双击编辑；多个备选用“;”分隔）：</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <source>Action id: {id}</source>
        <translation>操作标识：{id}</translation>
    </message>
    <message>
        <source>Restore default shortcuts</source>
        <translation>恢复默认快捷键</translation>
    </message>
    <message>
        <source>.</source>
        <translation>。</translation>
    </message>
    <message>
        <source> and </source>
        <translation>与</translation>
    </message>
    <message>
        <source>“{action}”</source>
        <translation>“{action}”</translation>
    </message>
    <message>
        <source>{keys} is used by {names}.</source>
        <translation>{keys} 被{names}同时使用。</translation>
    </message>
    <message>
        <source>Also (fixed)</source>
        <translation>另有（固定）</translation>
    </message>
    <message>
        <source>Handled by the canvas; cannot be changed</source>
        <translation>由画布处理，不能更改</translation>
    </message>
</context>
<context>
    <name>StatusPanel</name>
    <message>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <source>encoding…</source>
        <translation>编码中…</translation>
    </message>
    <message>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>not encoded</source>
        <translation>未编码</translation>
    </message>
    <message>
        <source>no model</source>
        <translation>无模型</translation>
    </message>
    <message>
        <source>model failed</source>
        <translation>模型加载失败</translation>
    </message>
    <message>
        <source>image: {state}</source>
        <translation>图像：{state}</translation>
    </message>
    <message>
        <source> · next: {state}</source>
        <translation> · 下一张：{state}</translation>
    </message>
    <message>
        <source>{task}…</source>
        <translation>{task}…</translation>
    </message>
    <message>
        <source>{task}: done.</source>
        <translation>{task}：完成。</translation>
    </message>
    <message>
        <source>{task}: {done} of {total}</source>
        <translation>{task}：{done} / {total}</translation>
    </message>
    <message>
        <source>Image {n} of {total}</source>
        <translation>第 {n} 张，共 {total} 张</translation>
    </message>
</context>
<context>
    <name>TextPromptController</name>
    <message>
        <source>Open an image first.</source>
        <translation>请先打开一张图像。</translation>
    </message>
    <message>
        <source>No SAM model is loaded: open the model manager (Ctrl+M).</source>
        <translation>未加载 SAM 模型：请打开模型管理器（Ctrl+M）。</translation>
    </message>
    <message>
        <source>Detecting with {detector}…</source>
        <translation>正在用 {detector} 检测…</translation>
    </message>
    <message>
        <source>Decoding {n} more box(es) with SAM…</source>
        <translation>正在用 SAM 解码另外 {n} 个框…</translation>
    </message>
    <message>
        <source>Nothing found above the thresholds; lower them or change the phrases.</source>
        <translation>没有高于阈值的结果；请降低阈值或更换短语。</translation>
    </message>
    <message>
        <source>{n} proposal(s): {phrases}. Accept all or the checked ones.</source>
        <translation>{n} 个候选：{phrases}。接受全部或已勾选的候选。</translation>
    </message>
    <message>
        <source>This project is open read-only; proposals cannot be stored.</source>
        <translation>此项目以只读方式打开；无法保存候选标注。</translation>
    </message>
    <message>
        <source>No proposal is checked.</source>
        <translation>没有勾选任何候选。</translation>
    </message>
    <message>
        <source>Storing {n} annotation(s)…</source>
        <translation>正在保存 {n} 个标注…</translation>
    </message>
    <message>
        <source>The accepted proposals have empty masks; nothing was stored.</source>
        <translation>接受的候选掩码为空；未保存任何内容。</translation>
    </message>
    <message>
        <source>Stored {n} annotation(s) (one undo step).</source>
        <translation>已保存 {n} 个标注（一次撤销）。</translation>
    </message>
</context>
<context>
    <name>TextPromptDock</name>
    <message>
        <source>Text prompt</source>
        <translation>文本提示</translation>
    </message>
    <message>
        <source>cat. dog. traffic light</source>
        <translation>猫. 狗. 交通灯</translation>
    </message>
    <message>
        <source>Phrases separated by &apos;.&apos;; Enter detects them</source>
        <translation>用“.”分隔的短语；按回车检测</translation>
    </message>
    <message>
        <source>Phrases</source>
        <translation>短语</translation>
    </message>
    <message>
        <source>A detector id from the model manager, or a model folder (save_pretrained)</source>
        <translation>模型管理器中的检测器 ID，或模型文件夹（save_pretrained）</translation>
    </message>
    <message>
        <source>Choose a detector model folder</source>
        <translation>选择检测器模型文件夹</translation>
    </message>
    <message>
        <source>Detector</source>
        <translation>检测器</translation>
    </message>
    <message>
        <source>Keep boxes whose detector score is above this</source>
        <translation>保留检测分数高于此值的框</translation>
    </message>
    <message>
        <source>Keep boxes whose phrase score is above this</source>
        <translation>保留短语分数高于此值的框</translation>
    </message>
    <message>
        <source>Box threshold</source>
        <translation>框阈值</translation>
    </message>
    <message>
        <source>Text threshold</source>
        <translation>文本阈值</translation>
    </message>
    <message>
        <source>Detect</source>
        <translation>检测</translation>
    </message>
    <message>
        <source>Type phrases and press Enter.</source>
        <translation>输入短语并按回车。</translation>
    </message>
    <message>
        <source>Next mask</source>
        <translation>下一个掩码</translation>
    </message>
    <message>
        <source>Show the next of SAM&apos;s three candidates for the selected proposal</source>
        <translation>为所选候选显示 SAM 三个候选掩码中的下一个</translation>
    </message>
    <message>
        <source>Accept checked</source>
        <translation>接受已勾选</translation>
    </message>
    <message>
        <source>Accept all</source>
        <translation>全部接受</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <source>Detector model folder</source>
        <translation>检测器模型文件夹</translation>
    </message>
</context>
<context>
    <name>UndoService</name>
    <message>
        <source>No project is open.</source>
        <translation>没有打开的项目。</translation>
    </message>
    <message>
        <source>Undo of {edit} failed: {reason}</source>
        <translation>撤销“{edit}”失败：{reason}</translation>
    </message>
    <message>
        <source>{edit} failed: {reason}</source>
        <translation>“{edit}”失败：{reason}</translation>
    </message>
</context>
</TS>
